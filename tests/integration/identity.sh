#!/usr/bin/env bash
# identity.sh — applications at the door: each identity document only for the people it belongs to (household
# register under 16 on the day of acceptance, passports and permits for foreigners and Hong Kong/Macau/Taiwan
# residents), the guardian or agent recorded and checked, the bank one of the configured cooperating banks
# ages are counted from a fixed bureau day: the applicants below are 15, 16 and so on on that day whatever today is
export CARDLINE_NOW=2026-06-10T10:00:00+08:00
source "$(dirname "$0")/lib.sh"
require_postgres
new_db
cl gen outlets >/dev/null
"$CARDLINE" -q gen photo "$WORK/a.jpg" --seed 11

header="upstream_id,kind,doc_type,doc_number,ssn,name,sex,ethnicity,birth_date,birth_place,nationality,outlet,bank,accepted_at,photo,rep_role,rep_name,rep_doc_type,rep_doc_number,rep_nationality,rep_relationship"
at="2026-06-09 10:00+08"
# a father (resident ID, born 1985) who applies for his daughter
father="guardian,王建国,resident_id,440203198501010011,,father"

# --- accepted: one row per rule, in one file ----------------------------------------------------------------------
cat >"$WORK/good.csv" <<CSV
$header
ID-HR,new,household_register,440203201503010028,,王小雨,2,1,2015-03-01,440203,,HR0101,中国银行,$at,a.jpg,$father
ID-15,new,household_register,440203201006100022,,王小云,2,1,2010-06-10,440203,,HR0101,,$at,a.jpg,$father
ID-PP,new,passport,EA1234567,USA198002031234567,SMITH JOHN,1,97,1980-02-03,440100,USA,HR0101,中国工商银行,$at,a.jpg,,,,,,
ID-PP2,new,passport,EB7654321,KOR198002031234567,KIM MINJUN,1,97,1980-02-03,440100,,HR0101,,$at,a.jpg,,,,,,
ID-FP18,new,foreign_permanent,944840198505050017,944840198505050017,DOE JANE,1,97,1985-05-05,440100,USA,HR0101,,$at,a.jpg,,,,,,
ID-FP15,new,foreign_permanent,USA440185050501,USA198505051234567,DOE JOHN,1,97,1985-05-05,440100,,HR0101,,$at,a.jpg,,,,,,
ID-HKP,new,hk_macau_permit,H12345678,810000199003070015,陈大文,1,1,1990-03-07,810000,,HR0101,,$at,a.jpg,,,,,,
ID-HKR,new,hk_macau_residence,810000199003070015,,陈小文,1,1,1990-03-07,810000,,HR0101,,$at,a.jpg,,,,,,
ID-MOR,new,hk_macau_residence,820000199003070025,,何小玲,2,1,1990-03-07,820000,CHN,HR0101,,$at,a.jpg,,,,,,
ID-TWP,new,taiwan_permit,12345678,830000199002280014,林志明,1,1,1990-02-28,710000,,HR0101,,$at,a.jpg,,,,,,
ID-TWR,new,taiwan_residence,830000199002280014,,林志华,1,1,1990-02-28,710000,,HR0101,,$at,a.jpg,,,,,,
ID-AG,new,resident_id,440203195601010031,,李老伯,1,1,1956-01-01,440203,,HR0101,,$at,a.jpg,agent,李明,resident_id,440203198001010031,,child
CSV
expect_eq "every document for its holder" "$(cl import applications "$WORK/good.csv")" "imported 12 application(s)"
expect_eq "guardian recorded" \
    "$(sql "SELECT rep_role || '|' || rep_name || '|' || rep_doc_type || '|' || rep_doc_number || '|' || rep_nationality || '|' || rep_relationship FROM application WHERE upstream_id = 'ID-HR'")" \
    "guardian|王建国|resident_id|440203198501010011|CHN|father"
expect_eq "agent recorded" "$(sql "SELECT rep_role || '|' || rep_relationship FROM application WHERE upstream_id = 'ID-AG'")" "agent|child"
expect_eq "nationality from the foreigner's papers" \
    "$(sql "SELECT string_agg(upstream_id || '=' || nationality, ' ' ORDER BY upstream_id) FROM application WHERE upstream_id IN ('ID-PP2', 'ID-FP15', 'ID-HKP', 'ID-HKR')")" \
    "ID-FP15=USA ID-HKP=CHN ID-HKR=CHN ID-PP2=KOR"
expect_eq "a residence permit's number is the social security number" \
    "$(sql "SELECT ssn FROM application WHERE upstream_id = 'ID-TWR'")" "830000199002280014"

# --- refused: each rule once; the message names the file's line, the field and the rule ----------------------------
n=0
refuse() { # refuse WHAT ROW EXPECTED-TEXT
    n=$((n + 1))
    printf '%s\n%s\n' "$header" "$2" >"$WORK/bad$n.csv"
    if cl import applications "$WORK/bad$n.csv" 2>"$WORK/err"; then fail "$1: imported"; fi
    grep -qF "bad$n.csv:2: $3" "$WORK/err" || fail "$1: $(cat "$WORK/err")"
    # no document number of the row reaches the message unmasked
    for number in $(printf '%s\n' "$2" | grep -oE '[0-9]{15,17}[0-9X]|[A-Z]{3}[0-9]{12}|[HM][0-9]{8}|EA[0-9]{7}'); do
        if grep -qF "$number" "$WORK/err"; then fail "$1: $number printed unmasked"; fi
    done
    echo "ok: refused: $1"
}
row() { # row UPSTREAM DOC_TYPE NUMBER SSN BIRTH NATIONALITY BANK REP...
    local id=$1 type=$2 number=$3 ssn=$4 birth=$5 nat=$6 bank=$7 sex=2
    shift 7
    # the sex the number's 17th digit says, where it has one
    [[ "$number" =~ ^[0-9]{17}[0-9X]$ ]] && sex=$((${number:16:1} % 2 ? 1 : 2))
    echo "$id,new,$type,$number,$ssn,测试,$sex,1,$birth,440203,$nat,HR0101,$bank,$at,a.jpg,${*:-,,,,,}"
}
refuse "household register at 16" "$(row X1 household_register 440203201006090020 '' 2010-06-09 '' '' "$father")" \
    "doc_type: a household_register is accepted only for an applicant under 16 on the day of acceptance"
refuse "household register of an adult" "$(row X2 household_register 440203198501010011 '' 1985-01-01 '' '')" \
    "doc_type: a household_register is accepted only for an applicant under 16"
refuse "under 16 without a guardian" "$(row X3 household_register 440203201503010028 '' 2015-03-01 '' '')" \
    "rep_role: the applicant was 11 on the day of acceptance; under 16 a guardian applies"
refuse "under 16 with an agent" \
    "$(row X4 household_register 440203201503010028 '' 2015-03-01 '' '' "agent,王建国,resident_id,440203198501010011,,father")" \
    "rep_role: the applicant was 11 on the day of acceptance; under 16 the guardian applies, not an agent"
refuse "guardian of an adult" "$(row X5 resident_id 440203195601010031 '' 1956-01-01 '' '' "guardian,李明,resident_id,440203198001010031,,relative")" \
    "rep_role: a guardian applies only for an applicant under 16"
refuse "guardian's document fails its check character" \
    "$(row X6 household_register 440203201503010028 '' 2015-03-01 '' '' "guardian,王建国,resident_id,440203198501010012,,father")" \
    "rep_doc_number: the guardian's document: document number"
refuse "guardian under 18" \
    "$(row X7 household_register 440203201503010028 '' 2015-03-01 '' '' "guardian,王小云,resident_id,44020320100101001X,,sibling")" \
    "rep_doc_number: the guardian (document"
refuse "guardian with a household register" \
    "$(row X8 household_register 440203201503010028 '' 2015-03-01 '' '' "guardian,王建国,household_register,440203198501010011,,father")" \
    "rep_doc_type: a guardian proves identity with their own document"
refuse "a guardian is no spouse" \
    "$(row X9 household_register 440203201503010028 '' 2015-03-01 '' '' "guardian,王建国,resident_id,440203198501010011,,spouse")" \
    "rep_relationship: 'spouse' is not a guardian's relationship"
refuse "guardian details without a role" \
    "$(row X10 resident_id 440203198001010031 '' 1980-01-01 '' '' ",王建国,resident_id,440203198501010011,,father")" \
    "rep_role: guardian or agent details are given but rep_role is empty"
refuse "passport of a Chinese citizen" "$(row X11 passport EA1234567 USA198002031234567 1980-02-03 CHN '')" \
    "nationality: a passport is accepted only from a foreigner, but nationality is CHN"
refuse "passport without a nationality" "$(row X12 passport EA1234567 440203198001010031 1980-02-03 '' '')" \
    "nationality: a passport is accepted only from a foreigner; give the holder's nationality"
refuse "passport number too long for ICAO 9303" "$(row X13 passport EA12345678 USA198002031234567 1980-02-03 USA '')" \
    "doc_number: passport number"
refuse "resident ID of a foreigner" "$(row X14 resident_id 440203198001010031 '' 1980-01-01 USA '')" \
    "nationality: a resident_id belongs to a Chinese citizen, but nationality is USA"
refuse "residence permit from the wrong region" "$(row X15 hk_macau_residence 850000199003070012 '' 1990-03-07 '' '')" \
    "doc_number: hk_macau_residence number 8500**********0012 does not start with 810000 (Hong Kong) or 820000 (Macau)"
refuse "residence permit fails its check character" "$(row X16 taiwan_residence 830000199002280015 '' 1990-02-28 '' '')" \
    "doc_number: document number 8300**********0015 fails its check character"
refuse "Taiwan permit not 8 digits" "$(row X17 taiwan_permit 123456789 830000199002280014 1990-02-28 '' '')" \
    "doc_number: taiwan_permit number"
refuse "Hong Kong permit of another letter" "$(row X18 hk_macau_permit X12345678 810000199003070015 1990-03-07 '' '')" \
    "doc_number: hk_macau_permit number"
refuse "permanent resident card of another country" \
    "$(row X19 foreign_permanent USA440185050501 USA198505051234567 1985-05-05 KOR '')" \
    "nationality: foreign_permanent number USA4*******0501 names country USA but nationality is KOR"
refuse "permanent resident card fails its check character" \
    "$(row X20 foreign_permanent 944840198505050018 944840198505050018 1985-05-05 USA '')" \
    "doc_number: document number 9448**********0018 fails its check character"
refuse "unknown document type" "$(row X21 driving_licence 1234567 440203198001010031 1980-01-01 '' '')" \
    "doc_type: 'driving_licence' is not one of"
refuse "bank outside the list" "$(row X22 resident_id 440203198001010031 '' 1980-01-01 '' 招商银行)" \
    "bank: '招商银行' is not one of the bureau's cooperating banks"
grep -qF "the list comes from the defaults of a new database" "$WORK/err" || fail "list's source not named: $(cat "$WORK/err")"
expect_eq "nothing of the refused rows landed" "$(sql "SELECT count(*) FROM application WHERE upstream_id LIKE 'X%'")" "0"

# --- the configured list replaces the defaults; the refusal names the configuration file ---------------------------
cat >"$WORK/cardline.json" <<'JSON'
{
  "lines": [{"id": "L1", "printer": "sim", "encoder": "sim"}],
  "banks": ["中国银行", "韶关农村商业银行"]
}
JSON
cl config apply "$WORK/cardline.json" >/dev/null
expect_eq "configured banks active" "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM bank WHERE active")" "中国银行,韶关农村商业银行"
refuse "bank no longer in the configured list" "$(row X23 resident_id 440203198001010031 '' 1980-01-01 '' 中国工商银行)" \
    "bank: '中国工商银行' is not one of the bureau's cooperating banks (中国银行, 韶关农村商业银行; the list comes from configuration file $WORK/cardline.json)"
printf '%s\n%s\n' "$header" "$(row X24 resident_id 440203198001010031 '' 1980-01-01 '' 韶关农村商业银行)" >"$WORK/bank.csv"
expect_eq "a configured bank" "$(cl import applications "$WORK/bank.csv")" "imported 1 application(s)"
printf '{"lines": [{"id": "L1", "printer": "sim", "encoder": "sim"}], "banks": ["中国银行", "中国银行"]}\n' >"$WORK/twice.json"
if cl config check "$WORK/twice.json" 2>"$WORK/err"; then fail "a bank listed twice passed the check"; fi
grep -qF "banks[1]: bank '中国银行' appears twice" "$WORK/err" || fail "twice: $(cat "$WORK/err")"

# --- whoever writes the row, the schema says the same ----------------------------------------------------------
copy() { # copy DOC_TYPE BIRTH BANK: insert a copy of ID-AG with those fields; prints psql's words
    psql "$DB" -XAtq -v ON_ERROR_STOP=1 -c "INSERT INTO application (upstream_id, kind, doc_type, doc_number, ssn,
        name, sex, ethnicity, birth_date, birth_place, nationality, outlet_code, bank_name, accepted_at)
        SELECT 'SQL-' || md5(random()::text), kind, '$1', doc_number, ssn, name, sex, ethnicity, '$2', birth_place,
               nationality, outlet_code, $3, accepted_at FROM application WHERE upstream_id = 'ID-AG'" 2>&1 || true
}
copy household_register 1956-01-01 NULL | grep -q "household register is accepted only for an applicant under 16" ||
    fail "schema took an adult's household register"
copy resident_id 1956-01-01 "'中国工商银行'" | grep -q "is not one of the cooperating banks" ||
    fail "schema took an inactive bank"
expect_eq "schema refusals left nothing" "$(sql "SELECT count(*) FROM application WHERE upstream_id LIKE 'SQL-%'")" "0"

# --- the generator writes applications the rules accept: minors with guardians, foreigners, permits ---------------
cl gen applications 30 --seed 14 >/dev/null
[ "$(sql "SELECT count(*) FROM application WHERE upstream_id LIKE 'SQ%' AND doc_type = 'household_register'")" -gt 0 ] ||
    fail "no minor among the generated applications"
[ "$(sql "SELECT count(*) FROM application WHERE upstream_id LIKE 'SQ%' AND doc_type NOT IN ('resident_id', 'household_register')")" -gt 0 ] ||
    fail "no foreigner or Hong Kong/Macau/Taiwan resident among the generated applications"
expect_eq "generated minors have their guardian" \
    "$(sql "SELECT count(*) FROM application WHERE upstream_id LIKE 'SQ%' AND doc_type = 'household_register' AND rep_role IS DISTINCT FROM 'guardian'")" "0"
expect_eq "generated banks from the configured list" \
    "$(sql "SELECT count(*) FROM application a WHERE upstream_id LIKE 'SQ%' AND bank_name NOT IN ('中国银行', '韶关农村商业银行')")" "0"
echo "identity: all checks passed"
