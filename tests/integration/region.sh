#!/usr/bin/env bash
# region.sh — the bureau's region and outlets are configuration, and a new bureau is Shaoguan's: migration 0013
# gives a new database region 440200 and leaves a running bureau's region alone; `gen outlets` writes Shaoguan's
# outlets (an HR&SS window in each district and county, cooperating banks' windows) only into a bureau that has
# none; generated applicants are born and registered there (4402… numbers) with migrants from elsewhere, and
# apply at the outlets the bureau configured. Seconds, one database made twice.
source "$(dirname "$0")/lib.sh"
require_postgres
new_db

region() { sql "SELECT value FROM setting WHERE key = 'region_code'"; }
# forget that migration 0013 ran, with the region 0001 gave, as a database made before it would be
before_0013() { sql "DELETE FROM schema_migration WHERE version = 13; UPDATE setting SET value = '440100' WHERE key = 'region_code'"; }

expect_eq "a new database's region" "$(region)" "440200"
# a database made before 0013 in which nothing has happened yet becomes Shaoguan's on upgrade
before_0013
cl status >/dev/null
expect_eq "an unused database upgraded" "$(region)" "440200"

# the bureau's own outlets, from its configuration: gen writes no default beside them and uses only them
cat >"$WORK/bureau.json" <<'JSON'
{ "lines": [ {"id": "L1", "printer": "sim", "encoder": "sim"} ],
  "outlets": [
    {"code": "SG01", "name": "韶关市浈江区人社局综合柜员窗口", "kind": "hrss", "county": "浈江区",
     "delivery_weekdays": [1, 2, 3, 4, 5], "transit_days": 1},
    {"code": "SG02", "name": "中国银行韶关分行营业部", "kind": "bank", "county": "武江区",
     "delivery_weekdays": [1, 2, 3, 4, 5], "transit_days": 1} ] }
JSON
cl config apply "$WORK/bureau.json" >/dev/null
cl gen applications 40 --seed 14 >/dev/null
expect_eq "outlets: the configured ones only" "$(sql "SELECT string_agg(code, ',' ORDER BY code) FROM outlet")" "SG01,SG02"
expect_eq "applications at the configured outlets" \
    "$(sql "SELECT string_agg(DISTINCT outlet_code, ',' ORDER BY outlet_code) FROM application")" "SG01,SG02"
expect_eq "at a bank's window the account is with that bank" \
    "$(sql "SELECT string_agg(DISTINCT coalesce(bank_name, '-'), ',') FROM application WHERE outlet_code = 'SG02'")" "中国银行"
# residents: the number starts with the birth place; most are Shaoguan's ten districts and counties
expect_eq "resident numbers start with the birth place" "$(sql "SELECT count(*) FROM application
    WHERE doc_type IN ('resident_id', 'household_register') AND left(doc_number, 6) <> birth_place")" "0"
read -r residents local migrants <<<"$(sql "SELECT count(*), count(*) FILTER (WHERE birth_place IN ('440203', '440204',
    '440205', '440222', '440224', '440229', '440232', '440233', '440281', '440282')),
    count(*) FILTER (WHERE birth_place NOT LIKE '4402%') FROM application
    WHERE doc_type IN ('resident_id', 'household_register')" | tr '|' ' ')"
[ "$((local * 10))" -ge "$((residents * 6))" ] || fail "only $local of $residents residents born in Shaoguan"
[ "$migrants" -gt 0 ] || fail "no migrant among $residents residents"
expect_eq "foreigners live in the bureau's region" \
    "$(sql "SELECT count(*) FROM application WHERE nationality <> 'CHN' AND birth_place <> '440200'")" "0"
echo "ok: $local of $residents residents born in Shaoguan, $migrants from elsewhere, at the configured outlets"

# a running bureau's region (here Guangzhou's) is never rewritten by the upgrade
before_0013
cl status >/dev/null
expect_eq "migration 0013 recorded again" "$(sql "SELECT count(*) FROM schema_migration WHERE version = 13")" "1"
expect_eq "a running bureau keeps its region" "$(region)" "440100"
# and the generator follows the region the bureau has set
sql "UPDATE setting SET value = '440300' WHERE key = 'region_code'"
last=$(sql "SELECT max(id) FROM application")
cl gen applications 20 --seed 15 >/dev/null
expect_eq "a Shenzhen bureau's applicants are not Shaoguan's" \
    "$(sql "SELECT count(*) FROM application WHERE id > $last AND birth_place LIKE '4402%'")" "0"
expect_eq "a Shenzhen bureau's locals" \
    "$(sql "SELECT count(*) > 0 FROM application WHERE id > $last AND birth_place = '440300'")" "t"
echo "ok: the region is the bureau's setting: kept on upgrade, followed by the generator"

# a bureau with no outlet gets Shaoguan's defaults from `gen outlets`
new_db
cl gen outlets >/dev/null
expect_eq "an HR&SS window in every district and county" \
    "$(sql "SELECT string_agg(county, ',' ORDER BY code) FROM outlet WHERE kind = 'hrss'")" \
    "浈江区,武江区,曲江区,乐昌市,南雄市,仁化县,始兴县,翁源县,新丰县,乳源瑶族自治县"
expect_eq "cooperating banks' windows, each of a configured bank" "$(sql "SELECT count(*) FILTER (WHERE EXISTS
    (SELECT 1 FROM bank b WHERE b.active AND o.name LIKE b.name || '%')) || '/' || count(*) FROM outlet o WHERE kind = 'bank'")" "6/6"
echo "region ok"
