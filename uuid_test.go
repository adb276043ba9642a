package medrec

import "testing"

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"0b9e8f4e-5b1c-4c6e-9a0e-7f3d2c1b0a99":  true,
		"0B9E8F4E-5B1C-4C6E-9A0E-7F3D2C1B0A99":  true,
		"":                                      false,
		"0b9e8f4e5b1c4c6e9a0e7f3d2c1b0a99":      false, // no dashes
		"0b9e8f4e-5b1c-4c6e-9a0e-7f3d2c1b0a9":   false, // one short
		"0b9e8f4e-5b1c-4c6e-9a0e-7f3d2c1b0a99a": false,
		"0b9e8f4e-5b1c-4c6e-9a0e_7f3d2c1b0a99":  false, // wrong separator
		"0b9e8f4e-5b1c-4c6e-9a0e-7f3d2c1b0a9g":  false, // not hex
		"0b9e8f4e-5b1c-4c6e-9a0e-7f3d2c1b0'99":  false,
		"../../etc/passwd-aaaa-aaaa-aaaaaaaaa":  false,
	} {
		if got := IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}
