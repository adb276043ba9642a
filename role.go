package medrec

// Role is a user's role (users.role). The access model in
// shared/design/access-model.md says what each may do.
type Role string

// The roles of the spec's users.role CHECK constraint.
const (
	RoleAdmin        Role = "ADMIN"
	RoleClinician    Role = "CLINICIAN"
	RoleNurse        Role = "NURSE"
	RoleReceptionist Role = "RECEPTIONIST"
)

// Roles lists every role, in the spec's order.
var Roles = []Role{RoleAdmin, RoleClinician, RoleNurse, RoleReceptionist}

// Valid reports whether r is one of the spec's roles.
func (r Role) Valid() bool {
	for _, known := range Roles {
		if r == known {
			return true
		}
	}
	return false
}
