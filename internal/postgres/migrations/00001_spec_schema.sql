-- The spec's schema, exactly as shared/spec/medical-system-schema.md writes it:
-- its seven tables, their constraints and indexes, and its audit_log table with
-- the audit trigger. This migration is the contract and is never edited; what
-- the spec leaves broken is fixed by the migrations after it (docs/schema.md).

-- +goose Up

CREATE TABLE patients (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Demographics
    first_name          VARCHAR(100) NOT NULL,
    last_name           VARCHAR(100) NOT NULL,
    dob                 DATE NOT NULL,
    gender              VARCHAR(20) NOT NULL CHECK (gender IN ('MALE', 'FEMALE', 'OTHER')),
    
    -- Contact Information
    email               VARCHAR(255),
    phone               VARCHAR(20),
    
    -- Status Management
    status              VARCHAR(20) NOT NULL DEFAULT 'ACTIVE' 
                        CHECK (status IN ('ACTIVE', 'INACTIVE', 'DECEASED')),
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    
    -- Indexes
    CONSTRAINT patient_email_unique UNIQUE (email)
);

CREATE INDEX idx_patients_status ON patients(status);
CREATE INDEX idx_patients_email ON patients(email);
CREATE INDEX idx_patients_created_at ON patients(created_at);

CREATE TABLE doctors (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Personal Information
    first_name          VARCHAR(100) NOT NULL,
    last_name           VARCHAR(100) NOT NULL,
    email               VARCHAR(255) NOT NULL UNIQUE,
    phone               VARCHAR(20),
    
    -- Professional Details
    specialty           VARCHAR(100),  -- e.g., Cardiology, Neurology
    
    -- Status Management
    status              VARCHAR(20) NOT NULL DEFAULT 'ACTIVE'
                        CHECK (status IN ('ACTIVE', 'ON_LEAVE', 'RETIRED')),
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_doctors_email ON doctors(email);
CREATE INDEX idx_doctors_specialty ON doctors(specialty);
CREATE INDEX idx_doctors_status ON doctors(status);

CREATE TABLE medical_reports (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Foreign Keys (Many-to-One)
    patient_id          UUID NOT NULL,
    doctor_id           UUID NOT NULL,
    
    -- Report Metadata
    title               VARCHAR(255) NOT NULL,
    report_type         VARCHAR(50) NOT NULL,  -- LAB, IMAGING, PATHOLOGY, CONSULTATION
    storage_url         VARCHAR(500) NOT NULL,  -- S3/File storage path
    summary             TEXT,  -- AI-generated or manual summary
    
    -- Clinical Details
    report_date         DATE NOT NULL,
    
    -- Processing Status
    status              VARCHAR(20) NOT NULL DEFAULT 'PROCESSING'
                        CHECK (status IN ('PROCESSING', 'COMPLETED', 'REVIEWED', 'ARCHIVED')),
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    
    -- Foreign Key Constraints
    CONSTRAINT fk_report_patient FOREIGN KEY (patient_id) 
        REFERENCES patients(id) ON DELETE CASCADE,
    CONSTRAINT fk_report_doctor FOREIGN KEY (doctor_id) 
        REFERENCES doctors(id) ON DELETE RESTRICT
);

CREATE INDEX idx_reports_patient_id ON medical_reports(patient_id);
CREATE INDEX idx_reports_doctor_id ON medical_reports(doctor_id);
CREATE INDEX idx_reports_report_date ON medical_reports(report_date DESC);
CREATE INDEX idx_reports_status ON medical_reports(status);
CREATE INDEX idx_reports_report_type ON medical_reports(report_type);

CREATE TABLE prescriptions (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Foreign Keys (Many-to-One)
    patient_id          UUID NOT NULL,
    doctor_id           UUID NOT NULL,
    
    -- Medication Details
    drug_name           VARCHAR(255) NOT NULL,
    dosage              VARCHAR(100) NOT NULL,  -- e.g., "500mg"
    frequency           VARCHAR(100) NOT NULL,  -- e.g., "Twice daily"
    route               VARCHAR(50),            -- e.g., "Oral", "IV"
    
    -- Treatment Period
    start_date          DATE NOT NULL,
    end_date            DATE,
    
    -- Status Management
    status              VARCHAR(20) NOT NULL DEFAULT 'ACTIVE'
                        CHECK (status IN ('ACTIVE', 'COMPLETED', 'CANCELLED')),
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    
    -- Foreign Key Constraints
    CONSTRAINT fk_prescription_patient FOREIGN KEY (patient_id) 
        REFERENCES patients(id) ON DELETE CASCADE,
    CONSTRAINT fk_prescription_doctor FOREIGN KEY (doctor_id) 
        REFERENCES doctors(id) ON DELETE RESTRICT,
    
    -- Business Rules
    CONSTRAINT chk_prescription_dates CHECK (end_date IS NULL OR end_date >= start_date)
);

CREATE INDEX idx_prescriptions_patient_id ON prescriptions(patient_id);
CREATE INDEX idx_prescriptions_doctor_id ON prescriptions(doctor_id);
CREATE INDEX idx_prescriptions_status ON prescriptions(status);
CREATE INDEX idx_prescriptions_start_date ON prescriptions(start_date DESC);
CREATE INDEX idx_prescriptions_drug_name ON prescriptions(drug_name);

CREATE TABLE emergency_access (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Foreign Keys
    patient_id          UUID NOT NULL,
    approved_by_doctor_id UUID,  -- NULL if pending
    
    -- Access Request Details
    requester_name      VARCHAR(255) NOT NULL,  -- Name of emergency staff
    reason              TEXT NOT NULL,          -- Justification for access
    notes               TEXT,                   -- Additional context
    
    -- Access Control
    expires_at          TIMESTAMP WITH TIME ZONE NOT NULL,  -- Time-limited access
    status              VARCHAR(20) NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'APPROVED', 'DENIED', 'EXPIRED')),
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    
    -- Foreign Key Constraints
    CONSTRAINT fk_emergency_patient FOREIGN KEY (patient_id) 
        REFERENCES patients(id) ON DELETE CASCADE,
    CONSTRAINT fk_emergency_approver FOREIGN KEY (approved_by_doctor_id) 
        REFERENCES doctors(id) ON DELETE SET NULL
);

CREATE INDEX idx_emergency_patient_id ON emergency_access(patient_id);
CREATE INDEX idx_emergency_status ON emergency_access(status);
CREATE INDEX idx_emergency_expires_at ON emergency_access(expires_at);
CREATE INDEX idx_emergency_approver ON emergency_access(approved_by_doctor_id);

CREATE TABLE users (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Authentication
    email               VARCHAR(255) NOT NULL UNIQUE,
    password_hash       VARCHAR(255) NOT NULL,  -- BCrypt hashed
    
    -- Authorization
    role                VARCHAR(20) NOT NULL DEFAULT 'CLINICIAN'
                        CHECK (role IN ('ADMIN', 'CLINICIAN', 'NURSE', 'RECEPTIONIST')),
    
    -- Status Management
    status              VARCHAR(20) NOT NULL DEFAULT 'ACTIVE'
                        CHECK (status IN ('ACTIVE', 'SUSPENDED', 'LOCKED')),
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE UNIQUE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_role ON users(role);
CREATE INDEX idx_users_status ON users(status);

CREATE TABLE ai_request_logs (
    -- Primary Key
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    
    -- Request Details
    request_type        VARCHAR(50) NOT NULL,  -- OCR, SYMPTOM_PREDICTION, CHAT
    input_data          TEXT,                  -- Serialized input
    response_data       TEXT,                  -- Serialized output
    
    -- Performance Metrics
    latency_ms          INTEGER,               -- Response time
    
    -- Audit Timestamps
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_ai_logs_request_type ON ai_request_logs(request_type);
CREATE INDEX idx_ai_logs_created_at ON ai_request_logs(created_at DESC);
CREATE INDEX idx_ai_logs_latency ON ai_request_logs(latency_ms);

CREATE TABLE audit_log (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    table_name          VARCHAR(50) NOT NULL,
    record_id           UUID NOT NULL,
    action              VARCHAR(20) NOT NULL,  -- INSERT, UPDATE, DELETE
    user_id             UUID,
    changed_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    old_values          JSONB,
    new_values          JSONB
);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_trigger_func()
RETURNS TRIGGER AS $$
BEGIN
    INSERT INTO audit_log (table_name, record_id, action, old_values, new_values)
    VALUES (
        TG_TABLE_NAME,
        COALESCE(NEW.id, OLD.id),
        TG_OP,
        row_to_json(OLD),
        row_to_json(NEW)
    );
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

-- Apply to sensitive tables
CREATE TRIGGER audit_patients
    AFTER INSERT OR UPDATE OR DELETE ON patients
    FOR EACH ROW EXECUTE FUNCTION audit_trigger_func();

-- +goose Down
DROP TRIGGER IF EXISTS audit_patients ON patients;
DROP FUNCTION IF EXISTS audit_trigger_func();
DROP TABLE IF EXISTS audit_log;
DROP TABLE IF EXISTS ai_request_logs;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS emergency_access;
DROP TABLE IF EXISTS prescriptions;
DROP TABLE IF EXISTS medical_reports;
DROP TABLE IF EXISTS doctors;
DROP TABLE IF EXISTS patients;
