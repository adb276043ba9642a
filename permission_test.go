package medrec_test

import (
	"testing"

	"medrec"
)

// TestRolePermissions pins the access model's role table: a change to who
// may do what must change this test too, on purpose.
func TestRolePermissions(t *testing.T) {
	t.Parallel()
	const (
		A = medrec.RoleAdmin
		C = medrec.RoleClinician
		N = medrec.RoleNurse
		R = medrec.RoleReceptionist
	)
	want := map[medrec.Permission][]medrec.Role{
		medrec.PermPublic:          {A, C, N, R},
		medrec.PermSelf:            {A, C, N, R},
		medrec.PermAccount:         {A, C, N, R},
		medrec.PermUsersManage:     {A},
		medrec.PermDoctorsManage:   {A},
		medrec.PermDoctorsRead:     {A, C, N, R},
		medrec.PermDoctorsUpdate:   {A, C},
		medrec.PermPatientsWrite:   {A, C, R},
		medrec.PermPatientsRead:    {A, C, N, R},
		medrec.PermPatientsLookup:  {A, C, N, R},
		medrec.PermPatientsErase:   {A},
		medrec.PermCareTeamManage:  {A, R},
		medrec.PermClinicalRead:    {C, N},
		medrec.PermClinicalWrite:   {C},
		medrec.PermEmergencyAsk:    {C, N},
		medrec.PermEmergencyDecide: {C},
		medrec.PermEmergencyReport: {A},
		medrec.PermEmergencyRead:   {A, C, N},
		medrec.PermAuditRead:       {A},
		medrec.PermAccessLogRead:   {A, C},
	}
	for perm, roles := range want {
		for _, role := range medrec.Roles {
			allowed := false
			for _, r := range roles {
				allowed = allowed || r == role
			}
			if got := role.Can(perm); got != allowed {
				t.Errorf("%s.Can(%s) = %v, want %v", role, perm, got, allowed)
			}
		}
	}
	// Every permission a role holds is one this test knows about.
	for role, perms := range medrec.RolePermissions {
		for _, p := range perms {
			if _, ok := want[p]; !ok {
				t.Errorf("%s holds %s, which this test does not pin", role, p)
			}
		}
	}
	if medrec.Role("INTRUDER").Can(medrec.PermSelf) {
		t.Error("an unknown role holds a permission")
	}
}
