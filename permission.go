package medrec

// Permission names one thing a caller may do. Every HTTP route names the
// permission it needs, and RolePermissions below is the only place that says
// which role holds which: the table of shared/design/access-model.md as code.
// "In care" conditions are not permissions; the services and PostgreSQL's
// row-level security check them per record.
type Permission string

// The permissions. PermPublic needs no sign-in at all.
const (
	PermPublic Permission = "public"

	// PermSelf: read one's own account and enrol a second factor. The only
	// permission of a session that must first enrol a second factor.
	PermSelf Permission = "self"
	// PermAccount: sign out and change one's own password.
	PermAccount Permission = "account"

	PermUsersManage   Permission = "users:manage"   // create, list, suspend, unlock, change role
	PermDoctorsManage Permission = "doctors:manage" // the doctor directory
	PermDoctorsRead   Permission = "doctors:read"   // look doctors up
	// PermDoctorsUpdate: change a doctor record. An ADMIN changes any; a
	// CLINICIAN only the contact fields of their own, which the service checks.
	PermDoctorsUpdate   Permission = "doctors:update"
	PermPatientsWrite   Permission = "patients:write"   // register, edit demographics
	PermPatientsRead    Permission = "patients:read"    // list and read demographics
	PermPatientsLookup  Permission = "patients:lookup"  // identity fields by exact name and date of birth
	PermPatientsErase   Permission = "patients:erase"   // hard delete (right to erasure)
	PermCareTeamManage  Permission = "care_team:manage" // add and remove care-team members
	PermClinicalRead    Permission = "clinical:read"    // reports, prescriptions, history, report files
	PermClinicalWrite   Permission = "clinical:write"   // author reports and prescriptions
	PermEmergencyAsk    Permission = "emergency:request"
	PermEmergencyDecide Permission = "emergency:decide" // approve, deny, revoke (never one's own)
	PermEmergencyReport Permission = "emergency:report" // the emergency access audit report
	// PermEmergencyRead: list and read emergency requests; which ones the
	// database decides (a CLINICIAN and an ADMIN all, a NURSE their own).
	PermEmergencyRead Permission = "emergency:read"
	PermAuditRead     Permission = "audit:read"      // the whole audit log and AI request logs
	PermAccessLogRead Permission = "access_log:read" // a patient's access log (clinicians: in care)
)

// RolePermissions is the access model's role table. Deny by default: a
// permission not listed for a role is refused.
var RolePermissions = map[Role][]Permission{
	RoleAdmin: {
		PermSelf, PermAccount, PermUsersManage, PermDoctorsManage, PermDoctorsRead, PermDoctorsUpdate,
		PermPatientsWrite, PermPatientsRead, PermPatientsLookup, PermPatientsErase,
		PermCareTeamManage, PermEmergencyReport, PermEmergencyRead, PermAuditRead, PermAccessLogRead,
	},
	RoleClinician: {
		PermSelf, PermAccount, PermDoctorsRead, PermDoctorsUpdate, PermPatientsWrite, PermPatientsRead, PermPatientsLookup,
		PermClinicalRead, PermClinicalWrite, PermEmergencyAsk, PermEmergencyDecide, PermEmergencyRead, PermAccessLogRead,
	},
	RoleNurse: {
		PermSelf, PermAccount, PermDoctorsRead, PermPatientsRead, PermPatientsLookup,
		PermClinicalRead, PermEmergencyAsk, PermEmergencyRead,
	},
	RoleReceptionist: {
		PermSelf, PermAccount, PermDoctorsRead, PermPatientsWrite, PermPatientsRead, PermPatientsLookup,
		PermCareTeamManage,
	},
}

// Can reports whether role r holds permission p. PermPublic is everyone's.
func (r Role) Can(p Permission) bool {
	if p == PermPublic {
		return true
	}
	for _, held := range RolePermissions[r] {
		if held == p {
			return true
		}
	}
	return false
}
