-- 0010: identity at intake: the residence permits of Hong Kong, Macau and Taiwan residents, the guardian or agent
-- who applies for someone else, and the bureau's cooperating banks as a list instead of free text

-- Hong Kong and Macau residents' residence permits (810000/820000 numbers), Taiwan residents' (830000)
ALTER TABLE application DROP CONSTRAINT application_doc_type_check;
ALTER TABLE application ADD CONSTRAINT application_doc_type_check
    CHECK (doc_type IN ('resident_id', 'household_register', 'passport', 'foreign_permanent', 'hk_macau_permit',
                        'hk_macau_residence', 'taiwan_permit', 'taiwan_residence'));

-- Under 16 the guardian applies; anyone else may delegate to an agent with a power of attorney. The person who
-- came to the window is recorded with their own document (never a household register: that is a minor's).
ALTER TABLE application
    ADD COLUMN rep_role         text CHECK (rep_role IN ('guardian', 'agent')),
    ADD COLUMN rep_name         text CHECK (length(rep_name) BETWEEN 1 AND 60),
    ADD COLUMN rep_doc_type     text CHECK (rep_doc_type IN ('resident_id', 'passport', 'foreign_permanent',
                                                             'hk_macau_permit', 'hk_macau_residence',
                                                             'taiwan_permit', 'taiwan_residence')),
    ADD COLUMN rep_doc_number   text CHECK (length(rep_doc_number) BETWEEN 5 AND 32),
    ADD COLUMN rep_nationality  char(3) CHECK (rep_nationality ~ '^[A-Z]{3}$'),
    ADD COLUMN rep_relationship text CHECK (rep_relationship IN ('father', 'mother', 'grandparent', 'sibling',
                                                                 'spouse', 'child', 'relative', 'other')),
    ADD CONSTRAINT application_rep_complete
        CHECK ((rep_role IS NULL) = (rep_name IS NULL) AND (rep_role IS NULL) = (rep_doc_type IS NULL)
               AND (rep_role IS NULL) = (rep_doc_number IS NULL)
               AND (rep_role IS NULL) = (rep_nationality IS NULL)
               AND (rep_role IS NULL) = (rep_relationship IS NULL));

-- Whoever writes an application (our importer or the upstream platform): a household register is a document only
-- for an applicant under 16 on the day of acceptance, and a guardian applies only for such an applicant. The
-- importer says the same with the row's line; this is the last word for every other writer.
CREATE FUNCTION application_identity_rules() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    years integer := extract(year FROM age(bureau_date(NEW.accepted_at), NEW.birth_date));
BEGIN
    IF NEW.doc_type = 'household_register' AND years >= 16 THEN
        RAISE EXCEPTION 'application %: a household register is accepted only for an applicant under 16 on the day of acceptance (the applicant was %)',
            NEW.upstream_id, years USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.rep_role = 'guardian' AND years >= 16 THEN
        RAISE EXCEPTION 'application %: a guardian applies only for an applicant under 16 (the applicant was %)',
            NEW.upstream_id, years USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.rep_role = 'agent' AND years < 16 THEN
        RAISE EXCEPTION 'application %: under 16 the guardian applies, not an agent', NEW.upstream_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER application_identity_rules BEFORE INSERT ON application FOR EACH ROW
    EXECUTE FUNCTION application_identity_rules();

-- The cooperating banks an applicant may choose for the card's financial account. The list is configuration
-- (cardline config apply writes it, marking banks no longer listed inactive); source says where it came from, so
-- that a refusal can name it. A bank is never deleted: earlier applications keep naming it.
CREATE TABLE bank (
    name       text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100 AND name !~ '[[:cntrl:]]'),
    active     boolean NOT NULL DEFAULT true,
    source     text NOT NULL CHECK (length(source) BETWEEN 1 AND 300),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- the defaults until a configuration names the bureau's own list: the banks that issue social security cards in
-- Guangdong, and the rural commercial banks of the demo's outlets
INSERT INTO bank (name, source)
SELECT b, 'the defaults of a new database (schema migration 0010)'
FROM unnest(ARRAY['中国工商银行', '中国农业银行', '中国银行', '中国建设银行', '交通银行', '中国邮政储蓄银行',
                  '广发银行', '广东农信', '广州农村商业银行', '韶关农村商业银行']) AS b;
-- earlier applications' banks stay readable; they are in the list (inactive) so the reference below holds for
-- every row, old or new
INSERT INTO bank (name, active, source)
SELECT DISTINCT bank_name, false, 'applications stored before the list existed (schema migration 0010)'
FROM application WHERE bank_name IS NOT NULL AND bank_name <> '' ON CONFLICT DO NOTHING;
UPDATE application SET bank_name = NULL WHERE bank_name = '';
ALTER TABLE application ADD CONSTRAINT application_bank FOREIGN KEY (bank_name) REFERENCES bank (name);
-- a new application names an active bank, whoever writes it
CREATE FUNCTION application_bank_active() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM bank WHERE name = NEW.bank_name AND active) THEN
        RAISE EXCEPTION 'application %: bank % is not one of the cooperating banks', NEW.upstream_id, NEW.bank_name
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER application_bank_active BEFORE INSERT ON application FOR EACH ROW
    WHEN (NEW.bank_name IS NOT NULL) EXECUTE FUNCTION application_bank_active();
