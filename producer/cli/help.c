/* help.c — the command reference: every command's and subcommand's usage, the one source of --help, of the
 * usage printed on bad arguments and of the man pages (tools/man/ turns the --help output into roff) */
#include "cli/cli.h"
#include "base/i18n.h"
#include "photo.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Layout every text keeps, because tools/man/ and tests/lint/help.sh read it: `synopsis` lines after the
 * first start with spaces; in `details`, "  TERM  description" is an item (two spaces before the term, two or
 * more after it), deeper-indented lines continue it, unindented lines are prose, "Title:" alone heads a
 * section. The summaries and details are marked N_() and printed in the reader's language (translated in
 * producer/po/zh_CN/help.po, which keeps this layout); the synopses, with their commands, options and
 * placeholders, stay as they are in every language. */
const struct cli_usage cli_usages[] = {
    /* --- production ---------------------------------------------------------------------------------- */
    {"run", NULL, "[OPTIONS]",
     N_("run production lines (simulated printers and chip encoders unless configured) until stopped"),
     N_("SIGINT and SIGTERM finish the card in hand first.\n"
        "Options:\n"
        "  --lines N  number of lines, named <prefix>1..<prefix>N (default 1)\n"
        "  --line-prefix P  line name prefix (default L); each controller needs its own names\n"
        "  --until-empty  stop when no application is left to produce\n"
        "  --lease-seconds S  lease on a claimed application without heartbeat (2..3600, default 30)\n"
        "  --card-ms MS  simulated time per card in printer and encoder (default 0)\n"
        "  --print-faults N  simulated print faults per thousand cards (default 0)\n"
        "  --chip-faults N  simulated chip write faults per thousand cards (default 0)\n"
        "  --scp02-faults N  simulated cards per thousand whose bank application has other SCP02 keys: the\n"
        "      card's cryptogram fails and the card is spoiled (default 0)\n"
        "  --seed S  seed for the simulated faults (default 1)\n"
        "  --max-cards N  stop after N good cards (default: no limit)\n"
        "  --printer SPEC  every line's printer: sim (default), usb, usb:evolis, usb:magicard, "
        "usb:<serial>,\n"
        "      usb:<bus>:<address> (see cardline devices); emu:evolis, emu:magicard (emulated printers);\n"
        "      evolis:file:PATH, magicard:file:PATH (print to file: the bytes a USB printer would get)\n"
        "  --encoder SPEC  every line's chip encoder: sim (default) or pcsc:<reader name>\n"
        "  --key-service SPEC  issuer keys: soft:<key file> or psam:<reader name> (default: a key made for "
        "this\n"
        "      run, which only simulated cards know)\n"
        "  --config FILE  lines, devices, key service, ATR allow-list and bank_application from the\n"
        "      configuration file\n"
        "  --no-faces  simulated and emulated printers do not write each face as a PNG\n")},
    {"status", NULL, "[--json]",
     N_("applications and cards by status, open shipments per outlet, lines, nearest deadlines"),
     N_("Options:\n"
        "  --json  the same as one JSON object for scripts (what GET /api/v1/status answers)\n")},
    {"summary", NULL, "", N_("what was produced, spoiled and held, and where the outputs are"),
     N_("Produced, spoiled and held (with reasons), cards per outlet, the smallest deadline margin; writes "
        "the\n"
        "per-outlet shipment lists under the data directory.\n")},
    {"risk", NULL, "[--json] [--limit N]",
     N_("which open applications will miss their delivery run, and why"),
     N_("Each open application's place in the claim order, the day the lines' capacity reaches it (measured "
        "over\n"
        "the last hour, or the nominal rate), against its latest completion. Also held applications close "
        "to\n"
        "theirs.\n"
        "Options:\n"
        "  --json  the forecast as JSON\n"
        "  --limit N  at most N applications (default 20)\n")},

    /* --- applications in ---------------------------------------------------------------------------- */
    {"import", NULL, "applications FILE.csv", N_("import approved applications (all rows or none)"), NULL},
    {"import", "applications", "FILE.csv", N_("import approved applications (all rows or none)"),
     N_("The first row names the columns (any order): upstream_id, kind "
        "(new|replacement|exchange|temporary),\n"
        "doc_type (resident_id|household_register|passport|foreign_permanent|hk_macau_permit|\n"
        "hk_macau_residence|taiwan_permit|taiwan_residence), doc_number, ssn (optional for resident IDs and\n"
        "residence permits), name, sex (1|2), ethnicity (GB 3304 code), birth_date (YYYY-MM-DD), "
        "birth_place\n"
        "(6-digit region code), nationality (ISO alpha-3; a foreigner's, else CHN), outlet, bank (optional, "
        "one\n"
        "of the cooperating banks the configuration lists), accepted_at (see below), photo (path relative "
        "to\n"
        "the CSV), replaced_card (replacement/exchange), priority (optional 0..9, default 5).\n"
        "A household register is the document only under 16 on the day of acceptance; passports and\n"
        "foreign_permanent cards only for foreigners, the permits only for Hong Kong, Macau and Taiwan "
        "residents.\n"
        "Under 16 a guardian applies; anyone else may send an agent: rep_role (guardian|agent), rep_name,\n"
        "rep_doc_type, rep_doc_number, rep_nationality (for a foreigner's papers), rep_relationship\n"
        "(father|mother|grandparent|sibling|spouse|child|relative|other).\n"
        "accepted_at is YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], bureau time unless followed by Z or +HH:MM,\n"
        "and not after the bureau's now; a date alone is 00:00.\n"
        "Every row is checked first; one bad row and nothing is imported.\n")},
    {"gen", NULL, "applications|outlets|photo ...",
     N_("generate realistic test applications, the default outlets, a portrait"), NULL},
    {"gen", "applications",
     "N [--seed S] [--defects K] [--accepted-from DATE] [--accepted-to DATE]\n"
     "[--photo-profile NAME|FILE]",
     N_("generate N realistic approved applications as an upstream platform would write them"),
     N_("Resident ID numbers with correct check characters, minors, foreigners, rare and long names, both "
        "kinds\n"
        "of outlet, replacements and exchanges, each with a photo that passes the photo profile. Each "
        "application\n"
        "depends only on the seed and its place in the batch; accepted dates are working days in the "
        "bureau's\n"
        "calendar (CARDLINE_NOW pins today).\n"
        "Options:\n"
        "  --seed S  the batch's seed (default: a random one, printed)\n"
        "  --defects K  K of them carry a problem a person must fix (they are held, not produced)\n"
        "  --accepted-from DATE  first accepted date (default 35 days before today)\n"
        "  --accepted-to DATE  last accepted date (default yesterday)\n"
        "  --photo-profile NAME|FILE  the profile every good photo passes (default ssc)\n")},
    {"gen", "outlets", "", N_("write the default pickup outlets and their delivery runs"), NULL},
    {"gen", "photo", "FILE.jpg [--seed S]", N_("write one synthetic portrait that passes the photo check"),
     N_("Options:\n"
        "  --seed S  the portrait's seed (default: a random one)\n")},
    {"outlet", NULL, "list|add ...", N_("pickup outlets"), NULL},
    {"outlet", "list", "", N_("the pickup outlets with their delivery weekdays and days in transit"), NULL},
    {"outlet", "add", "CODE --name NAME --kind hrss|bank --county COUNTY [--weekdays 1,3,5] [--transit DAYS]",
     N_("register a pickup outlet"),
     N_("Options:\n"
        "  --name NAME  the outlet's name as printed on manifests\n"
        "  --kind hrss|bank  an HR&SS window or a bank branch\n"
        "  --county COUNTY  the county (district) it serves\n"
        "  --weekdays LIST  ISO weekdays (1 = Monday) the delivery run leaves, separated by commas (default\n"
        "      1,2,3,4,5)\n"
        "  --transit DAYS  working days on the road (0..10, default 1)\n")},

    /* --- operators ---------------------------------------------------------------------------------- */
    {"application", NULL, "list|show|cancel|release ...", N_("applications; release held ones once fixed"),
     N_("ID is the application number or its upstream id.\n")},
    {"application", "list", "[--status pending|in_production|produced|held|cancelled] [--limit N]",
     N_("applications in claim order, holders masked, with the reason of a hold or a cancellation"),
     N_("Options:\n"
        "  --status S  only those with status S\n"
        "  --limit N  at most N rows (default 50)\n")},
    {"application", "show", "ID",
     N_("one application: deadline, latest completion, attempts, cards, why it is held or cancelled"),
     N_("ID is the application number or its upstream id.\n")},
    {"application", "cancel", "ID --reason TEXT", N_("stop the production of an application"),
     N_("A card already in a machine is rejected and recorded spoiled. ID is the application number or its\n"
        "upstream id.\n"
        "Options:\n"
        "  --reason TEXT  why (required, at most 500 characters)\n")},
    {"application", "release", "ID", N_("return a held application to the queue once its problem is fixed"),
     N_("Days it was held waiting for the applicant extend its deadline. ID is the application number or "
        "its\n"
        "upstream id.\n")},
    {"bank", NULL, "import|pending ...", N_("the bank's data for each card's bank (financial) application"),
     N_("The cooperating bank's data preparation makes one file per card (format: README, \"Attaching the\n"
        "bank's data\"); the line personalises the chip's bank application from it and writes the stripe.\n"
        "The setting bank_application (configuration key of the same name) is required (every card but a\n"
        "temporary one carries the bank application; a card without usable bank data is held) or off.\n"
        "Activation of the social security function at collection stays cardline's; the bank activates its\n"
        "own function.\n")},
    {"bank", "import", "FILE|DIR ...", N_("attach the bank's data files to their applications"),
     N_("Each file (a directory: its *.bank files) is checked as a card would use it, matched to its\n"
        "application by APPLICATION (the upstream id), its BANK must be the application's bank, and the\n"
        "application must not be produced or cancelled; each file is imported whole or not at all, a new "
        "file\n"
        "replaces the application's earlier one (recorded). An application held for missing bank data goes\n"
        "back to the queue. A refusal names the file, the line and the field, never the account number.\n"
        "Exits 1 when a file was refused.\n")},
    {"bank", "pending", "[--csv]", N_("applications the bank still owes data for"),
     N_("Pending and held applications (not temporary cards) without bank data: upstream id, bank, name.\n"
        "Options:\n"
        "  --csv  as CSV with the header upstream_id,bank,name, what the bank's data preparation reads\n")},
    {"card", NULL, "report-lost|withdraw-loss|cancel|temporary|return-temporary|blacklist ...",
     N_("a card's life after collection: loss reports, their withdrawal, cancellation, the blacklist"),
     N_("Loss reports block a card at once; a report may be withdrawn until a replacement is requested;\n"
        "cancellation (注销) ends it.\n")},
    {"card", "report-lost", "CARD_NUMBER [--temporary] [--reason TEXT]",
     N_("record the holder's loss report: the card is blocked at once (all functions stop)"),
     N_("Without --temporary the formal report (书面挂失, in person), after which a replacement may be "
        "produced;\n"
        "it also makes an earlier temporary report formal.\n"
        "Options:\n"
        "  --temporary  a report by phone, web or terminal (口头挂失); it lapses after the setting\n"
        "      temporary_loss_days (15) unless made formal in person, and the card is unblocked\n"
        "  --reason TEXT  goes into the audit trail only (no personal data; at most 500 characters)\n")},
    {"card", "withdraw-loss", "CARD_NUMBER [--reason TEXT]",
     N_("withdraw a temporary or formal loss report (解除挂失)"),
     N_("The card is back in its holder's hands and unblocked. Refused once a replacement has been requested "
        "for\n"
        "the card.\n"
        "Options:\n"
        "  --reason TEXT  goes into the audit trail only (no personal data; at most 500 characters)\n")},
    {"card", "cancel", "CARD_NUMBER --reason left-scheme|emigrated|deceased|disappeared",
     N_("cancel (注销) a card in its holder's hands or reported lost"),
     N_("For the holder leaving the scheme, emigrating, dying or disappearing: the card is blocked for good "
        "and "
        "the\n"
        "holder's open applications are cancelled. The person may apply again later. Settle the person's "
        "other\n"
        "cards first.\n"
        "Options:\n"
        "  --reason REASON  left-scheme, emigrated, deceased or disappeared (required)\n")},
    {"card", "temporary", "[--due] [--json]", N_("the temporary cards (临时卡) out, and the ones due back"),
     N_("For the window: every temporary card still out, the ones due back first (expired, or the real card\n"
        "collected without it; they no longer work). Expiries are recorded first.\n"
        "Options:\n"
        "  --due   only the cards due back\n"
        "  --json  as JSON\n")},
    {"card", "return-temporary", "CARD_NUMBER [--reason TEXT]",
     N_("the holder hands a temporary card back: returned and cancelled"),
     N_("The card is blocked for good. A temporary card is also settled when the real card is collected\n"
        "(dispatch collect --temporary-returned).\n"
        "Options:\n"
        "  --reason TEXT  goes into the audit trail only (no personal data; at most 500 characters)\n")},
    {"card", "blacklist", "[--json]",
     N_("the cards whose chips are blocked now, since when, until when and why"),
     N_("Loss reports (a lapsed temporary one no longer counts), cancellations, cards lost in transit.\n"
        "Options:\n"
        "  --json  as JSON\n")},
    {"calendar", NULL, "import|deadline|workdays|years ...", N_("the official working-day calendar"),
     N_("Dates are YYYY-MM-DD; a date in a year whose official schedule is not loaded is an error.\n")},
    {"calendar", "import", "FILE.csv", N_("load a year's official schedule"),
     N_("The file has one 'year,YYYY,source' row, then 'off,FROM,TO,name' rows for holidays and\n"
        "'work,DATE,,name' rows for makeup working days.\n")},
    {"calendar", "deadline", "DATE [--days N]", N_("DATE plus N working days"),
     N_("Options:\n"
        "  --days N  working days to add (0..3650, default 30, the regulation's limit)\n")},
    {"calendar", "workdays", "FROM TO", N_("count the working days after FROM up to and including TO"), NULL},
    {"calendar", "years", "", N_("the years whose official schedule is loaded, with their source"), NULL},
    {"stock", NULL, "issue|return|sample|report ...", N_("blank cards per line; the report must balance"),
     N_("A line's books open with its first issue and --new-line (a run or 'config apply' opens them too); "
        "a\n"
        "return or sample never takes more than the line has on hand.\n")},
    {"stock", "issue", "--line L N [--new-line]", N_("record N blanks handed to line L's hopper"),
     N_("Options:\n"
        "  --line L  the line (in the stock books)\n"
        "  --new-line  open the books of a line that is not in them yet\n")},
    {"stock", "return", "--line L N", N_("record N unused blanks back to the store"),
     N_("Options:\n"
        "  --line L  the line they come from\n")},
    {"stock", "sample", "--line L N", N_("record N blanks taken for quality samples"),
     N_("Options:\n"
        "  --line L  the line they come from\n")},
    {"stock", "report", "[--line L] [--from T --to T] [--json]",
     N_("per line issued, used, returned, samples and what should be on hand"),
     N_("Used is good + spoiled + in the machine. Exits 1 and says DIFFERENCE when the books do not "
        "balance.\n"
        "Options:\n"
        "  --line L  only line L\n"
        "  --from T  from time T: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], bureau time unless followed by Z or\n"
        "      +HH:MM (a date alone is 00:00)\n"
        "  --to T  up to time T, in the same forms\n"
        "  --json  the report as JSON (what GET /api/v1/stock answers)\n")},
    {"config", NULL, "check|apply FILE", N_("validate the configuration file / write its outlets"), NULL},
    {"config", "check", "FILE", N_("read and validate the configuration file"),
     N_("Lines and their devices, key service, photo profile, ATR allow-list, outlets with delivery runs: "
        "says\n"
        "what is wrong, with its line and field.\n")},
    {"config", "apply", "FILE", N_("validate the configuration file and write its outlets and delivery runs"),
     N_("Outlets are inserted or updated; the lines it names enter the stock books.\n")},

    /* --- dispatch ------------------------------------------------------------------------------------ */
    {"shipment", NULL, "export DIR", N_("write each outlet's shipment list as DIR/<outlet>.csv"), NULL},
    {"shipment", "export", "DIR",
     N_("write one CSV per outlet with its shipments' cards (holder data masked)"), NULL},
    {"dispatch", NULL, "COMMAND [ARGS]", N_("shipments to the outlets, receipt, collection, tracking"),
     N_("A shipment id is an 18-digit SSCC; CARD is a card number.\n")},
    {"dispatch", "list", "[--status open|sealed|dispatched|received|lost] [--outlet CODE] [--json]",
     N_("shipments, newest first within each status"),
     N_("Options:\n"
        "  --status S  only shipments with status S\n"
        "  --outlet CODE  only this outlet's shipments\n"
        "  --json  as JSON\n")},
    {"dispatch", "show", "SHIPMENT [--json]", N_("one shipment with its cards (holder data masked)"),
     N_("Options:\n"
        "  --json  as JSON\n")},
    {"dispatch", "seal", "SHIPMENT", N_("seal an open shipment now"), NULL},
    {"dispatch", "seal-due", "[--at TIME]",
     N_("seal the open shipments whose delivery run's cut-off has passed today"),
     N_("Run it from cron (or the systemd timer) every few minutes.\n"
        "Options:\n"
        "  --at TIME  pretend it is TIME: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], bureau time unless followed\n"
        "      by Z or +HH:MM (a date alone is 00:00)\n")},
    {"dispatch", "label", "SHIPMENT FILE.png|FILE.pdf",
     N_("the shipment label: GS1-128 and QR code of the shipment id"), NULL},
    {"dispatch", "manifest", "SHIPMENT FILE.pdf|FILE.csv",
     N_("the list of cards (masked) with counts and signature lines"), NULL},
    {"dispatch", "send", "SHIPMENT", N_("hand a sealed shipment to the courier (its cards are in transit)"),
     NULL},
    {"dispatch", "receive", "[--outlet CODE] [LABEL...]", N_("record receipt of shipments at the outlet"),
     N_("Without LABEL, reads one scanned label per line from standard input (a barcode scanner types the "
        "label\n"
        "and Enter) until end of input.\n"
        "Options:\n"
        "  --outlet CODE  the outlet receiving: a shipment for another outlet is refused\n")},
    {"dispatch", "collect",
     "CARD --holder-doc NUMBER [--agent-name NAME --agent-doc-type TYPE --agent-doc NUMBER\n"
     "(--poa-ref REF | --poa-scan FILE)] [--skip-activation REASON] [--temporary-returned]",
     N_("hand the card to its holder, or to an agent with a power of attorney"),
     N_("Activates the card's social security function, as the measures say; not activating it is an "
        "exception\n"
        "recorded with its reason. An agent's document is checked as an applicant's (check character). The\n"
        "holder's temporary card (临时卡), if one is out, is returned and cancelled (--temporary-returned) "
        "or\n"
        "else flagged for return; it stops working either way.\n"
        "Options:\n"
        "  --holder-doc NUMBER  the number of the document the holder shows\n"
        "  --agent-name NAME  the agent's name (stored masked)\n"
        "  --agent-doc-type TYPE  the agent's document type (resident_id, passport, ...)\n"
        "  --agent-doc NUMBER  the agent's document number (stored masked)\n"
        "  --poa-ref REF  the power of attorney's reference number (an agent needs it or --poa-scan)\n"
        "  --poa-scan FILE  the power of attorney's scan (at most 5 MiB), kept with its SHA-256\n"
        "  --skip-activation REASON  do not activate now, for this reason (dispatch activate later)\n"
        "  --no-activate  the same, with the reason in --reason TEXT\n"
        "  --temporary-returned  the holder hands the temporary card back now\n")},
    {"dispatch", "activate", "CARD", N_("activate a collected card's social security function later"), NULL},
    {"dispatch", "return", "CARD | --due",
     N_("send a card not collected within 12 months back to the bureau"),
     N_("Options:\n"
        "  --due  every card due for return now\n")},
    {"dispatch", "lost", "SHIPMENT|CARD [--reason TEXT]",
     N_("a dispatched shipment (or one card in it) never arrived"),
     N_("The cards are blacklisted and their applications produced again first.\n"
        "Options:\n"
        "  --reason TEXT  what is known of the loss\n")},
    {"dispatch", "overdue", "[--json]",
     N_("shipments past their expected arrival; cards not at the outlet by the deadline"),
     N_("Options:\n"
        "  --json  as JSON\n")},
    {"dispatch", "uncollected", "[--due] [--json]", N_("cards waiting at outlets"),
     N_("Options:\n"
        "  --due  only those to send back now (waiting 12 months)\n"
        "  --json  as JSON\n")},
    {"dispatch", "track", "APPLICATION [--json]", N_("an application's way from acceptance to collection"),
     N_("Options:\n"
        "  --json  as JSON\n")},

    /* --- web, accounts ------------------------------------------------------------------------------- */
    {"serve", NULL,
     "[--listen HOST:PORT] [--threads N] [--web-dir DIR] [--secure-cookies]\n"
     "[--trusted-proxy ADDRESS] [--config FILE]",
     N_("the web dashboard and JSON API for operators, studios and dispatch"),
     N_("Serves the pages for operators, studios, dispatch, auditors and admins, a public tracking page, "
        "the\n"
        "JSON API under /api/v1 and /metrics for Prometheus, until Ctrl-C. Accounts: cardline account add.\n"
        "Options:\n"
        "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks a free port). "
        "Anything\n"
        "      but loopback belongs behind a TLS proxy: then also give --secure-cookies\n"
        "  --threads N  database connections for the requests (1..32, default 4); every client connection "
        "is\n"
        "      served by a thread of its own, so a slow request holds up no other\n"
        "  --web-dir DIR  serve the pages from DIR (producer/web/assets of a checkout) instead of the "
        "built-in\n"
        "      copies\n"
        "  --secure-cookies  mark the session cookie Secure (HTTPS only)\n"
        "  --trusted-proxy ADDRESS  the TLS proxy's IP address: from it alone, the client address in "
        "Forwarded\n"
        "      or X-Forwarded-For counts (sign-in and tracking limits, logs); others are ignored\n"
        "  --config FILE  the configuration the lines run with: studio photos are checked against its\n"
        "      photo_profile, as the lines check them (default: ssc)\n")},
    {"account", NULL, "add|list|disable|password|token ...", N_("dashboard accounts and their roles"),
     N_("NAME: 2-32 of a-z 0-9 . _ -.\n")},
    {"account", "add",
     "NAME --role operator|studio|dispatch|auditor|admin [--studio STUDIO] [--password-stdin]",
     N_("add a dashboard account"),
     N_("Without --password-stdin a random password is made and printed once.\n"
        "Options:\n"
        "  --role ROLE  operator, studio, dispatch, auditor or admin\n"
        "  --studio STUDIO  a studio account's studio code (required for, and only for, role studio); it "
        "sees\n"
        "      only that studio's photos and receipts\n"
        "  --password-stdin  read the password from the first line of standard input\n")},
    {"account", "list", "[--json]",
     N_("the accounts with role, studio, whether disabled and whether a token exists"),
     N_("Options:\n"
        "  --json  as JSON\n")},
    {"account", "disable", "NAME", N_("disable an account: its sessions and token stop working"), NULL},
    {"account", "password", "NAME [--password-stdin]",
     N_("set a new password; the account's sessions end and its API token stops working"),
     N_("Without --password-stdin a random password is made and printed once.\n"
        "Options:\n"
        "  --password-stdin  read the password from the first line of standard input\n")},
    {"account", "token", "NAME", N_("print a new API token for scripts; the old one stops working"),
     N_("Scripts send it as 'Authorization: Bearer TOKEN'.\n")},

    /* --- photo studios ------------------------------------------------------------------------------- */
    {"photo", NULL, "check|verify|receipt|profile ...",
     N_("check ID photos, issue and verify quality receipts"), NULL},
    {"photo", "check",
     "[--profile P] [--json] [--verbose] [--models DIR]\n"
     "[--receipt --studio S --id DOCNO [--doc-type TYPE] [--out DIR]] FILE|DIR...",
     N_("check ID photos against a profile's rules"),
     N_("358x441, white background, face and eye geometry, exposure, sharpness, colour, compression. A DIR\n"
        "contributes its .jpg/.jpeg/.png files.\n"
        "Options:\n"
        "  --profile P  ssc (default; this city's social security card), national-id, or a profile file\n"
        "  --json  one JSON array with an object per file (shape in README)\n"
        "  --verbose  list every check, not only warnings and failures\n"
        "  --models DIR  Haar cascades (default $CARDLINE_PHOTO_MODELS or @PHOTO_MODELS@)\n"
        "  --receipt  issue a receipt for one passing FILE, stored in the database and written as\n"
        "      DIR/<number>.png and .pdf\n"
        "  --studio S  the studio's code (letters, digits, '-', '_'); with --receipt\n"
        "  --id DOCNO  the applicant's document number, valid for its type (check character, length); with\n"
        "      --receipt\n"
        "  --doc-type TYPE  the document's type (default resident_id), one of resident_id,\n"
        "      household_register, passport, foreign_permanent, hk_macau_permit, hk_macau_residence,\n"
        "      taiwan_permit, taiwan_residence; with --receipt\n"
        "  --out DIR  where the receipt is written (default <data dir>/receipts); with --receipt\n"
        "Exit status:\n"
        "  0  every photo passes (warnings allowed)\n"
        "  1  any photo fails\n"
        "  2  bad usage or unreadable file\n")},
    {"photo", "verify", "RECEIPT FILE", N_("prove that FILE is the photo the receipt was issued for"),
     N_("Also checks that the receipt is still valid.\n"
        "Exit status:\n"
        "  0  valid\n"
        "  1  not valid (the reason is printed)\n"
        "  2  bad usage or unreadable file\n")},
    {"photo", "receipt", "RECEIPT [DIR]", N_("show a receipt"),
     N_("With DIR, render it again as DIR/<number>.png and .pdf (without the photo).\n")},
    {"photo", "profile", "NAME|FILE",
     N_("print a profile (built in: ssc, national-id) in the profile file format"), NULL},

    /* --- devices ------------------------------------------------------------------------------------- */
    {"chip", NULL, "read|personalize|readers|unlock-pin ...",
     N_("read a card's chip (masked), personalise one card at a counter, unblock a PIN, list readers"),
     N_("SPEC is soft:<key file> (tests, demo) or psam:<reader name>; --config takes key_service and "
        "atr_allow\n"
        "from the configuration file. LIST is the ATR allow-list (hex ATRs, optional /mask, separated by\n"
        "commas).\n")},
    {"chip", "read", "[--reader R] [--json] [--unmasked] [--atr-allow LIST] [--key-service SPEC]",
     N_("print what a card's social security application holds (EF05/EF06)"),
     N_("A third-generation (3.00) card shows its holder's data (EF06) only under the issuer's read key.\n"
        "Options:\n"
        "  --reader R  the PC/SC reader (default: the one reader holding a card)\n"
        "  --json  as JSON\n"
        "  --unmasked  show the holder's number, name and birth date unmasked\n"
        "  --atr-allow LIST  refuse cards whose ATR is not on LIST\n"
        "  --key-service SPEC  the issuer's keys, to read a third-generation card's holder data\n")},
    {"chip", "personalize",
     "--reader R --application ID [--card NUMBER]\n"
     "[--key-service SPEC | --config FILE] [--atr-allow LIST]",
     N_("write an application's data to the card in a reader at a counter"),
     N_("The maker's data and internal authentication are checked, external authentication goes through the "
        "key\n"
        "service, then the records, a byte-for-byte read-back and the maker's initial PIN verified. It "
        "allocates\n"
        "nothing: the card number is the one the application already has, a finished card ('good') or one\n"
        "allocated and not being produced by a line right now. 'personalise' is the same command.\n"
        "Options:\n"
        "  --reader R  the PC/SC reader holding the card\n"
        "  --application ID  the application number or its upstream id\n"
        "  --card NUMBER  the application's card to write (default: its card)\n"
        "  --key-service SPEC  the issuer's keys\n"
        "  --config FILE  key_service and atr_allow from the configuration file\n"
        "  --atr-allow LIST  refuse cards whose ATR is not on LIST\n")},
    {"chip", "readers", "", N_("list the PC/SC readers and the ATR of any card in them"), NULL},
    {"chip", "unlock-pin",
     "--reader R --document NUMBER [--new-pin-stdin]\n"
     "[--key-service SPEC | --config FILE] [--atr-allow LIST]",
     N_("unblock the holder's locked social security PIN at a window"),
     N_("The card must be genuine and its social security number must be the NUMBER of the document the "
        "holder\n"
        "showed; then the issuer's PUK authentication and PIN UNBLOCK (84 24) reset the try counter.\n"
        "Options:\n"
        "  --reader R  the PC/SC reader holding the card\n"
        "  --document NUMBER  the 18-character number of the document the holder shows\n"
        "  --new-pin-stdin  also replace the PIN with the digits read from standard input (never from the\n"
        "      command line)\n"
        "  --key-service SPEC  the issuer's keys\n"
        "  --config FILE  key_service and atr_allow from the configuration file\n"
        "  --atr-allow LIST  refuse cards whose ATR is not on LIST\n")},
    {"render", NULL, "--application ID --png FILE.png [--layout FILE.json]",
     N_("draw the application's card face as it will be printed"),
     N_("Draws the front of the card (300 dpi, 1016x648) into FILE.png. The card number is that of the\n"
        "application's produced card; before production a placeholder (prefix + 00000000) stands in.\n"
        "Options:\n"
        "  --application ID  the application number or its upstream id\n"
        "  --png FILE.png  the output file\n"
        "  --layout FILE.json  another layout file (default $CARDLINE_LAYOUT or the installed "
        "ssc-front.json)\n")},
    {"devices", NULL, "[--json]", N_("card printers on USB and PC/SC readers attached to this machine"),
     N_("Lists the card printers attached over USB (driver, model, serial number, the --printer value that "
        "opens\n"
        "each, and what an idle printer reports: ribbon left, cards printed, cleaning due) and the PC/SC "
        "readers\n"
        "with whether a card is in each.\n"
        "Options:\n"
        "  --json  as JSON\n")},

    /* --- the clock and the database ----------------------------------------------------------------- */
    {"clock", NULL, "[--date | --offset]", N_("the bureau's date and time as cardline sees them"),
     N_("Also whether today is a working day. CARDLINE_NOW pins the clock for tests and rehearsals.\n"
        "Options:\n"
        "  --date  only the date, YYYY-MM-DD\n"
        "  --offset  the seconds the clock is ahead of the real one, for other programs' sessions\n"
        "      (PGOPTIONS=\"-c cardline.clock_offset=SECONDS\" makes SQL's clock_now() agree)\n")},
    {"db", NULL, "start|stop|status|migrate|conninfo|destroy|backup|restore ...",
     N_("the database (cardline's private PostgreSQL unless --db is given)"), NULL},
    {"db", "start", "", N_("create (first time) and start the private PostgreSQL cluster"), NULL},
    {"db", "stop", "", N_("stop the private cluster"), NULL},
    {"db", "status", "", N_("say whether the database is reachable and its schema version"),
     N_("Exits 1 when the database is not reachable.\n")},
    {"db", "migrate", "", N_("apply pending schema migrations (also done automatically)"), NULL},
    {"db", "conninfo", "", N_("print the libpq connection string cardline uses"), NULL},
    {"db", "destroy", "--yes", N_("stop the private cluster and delete it with all its data"),
     N_("Also deletes the card faces, photo receipts and shipment exports under the data directory.\n"
        "Options:\n"
        "  --yes  required: there is no undo\n")},
    {"db", "backup", "DIR [--jobs N]", N_("back the database up into DIR with PostgreSQL's own pg_dump"),
     N_("DIR must be new or empty and is made owner-only. The dump is one consistent snapshot; "
        "DIR/manifest,\n"
        "written last, records the schema version, the bureau time and the row counts of that snapshot: a\n"
        "directory without it is an unfinished backup.\n"
        "Options:\n"
        "  --jobs N  parallel pg_dump workers (1..16, default 2)\n")},
    {"db", "restore", "DIR [--replace] [--jobs N]", N_("restore a backup taken with cardline db backup"),
     N_("Refused when DIR has no manifest or its schema is newer than this cardline; the row counts must "
        "match\n"
        "the manifest; pending migrations are applied after.\n"
        "Options:\n"
        "  --replace  drop and recreate a target database that is not empty (refused otherwise)\n"
        "  --jobs N  parallel pg_restore workers (1..16, default 2)\n")},
};

const size_t cli_usage_count = sizeof(cli_usages) / sizeof(cli_usages[0]);

static const struct cli_usage *find(const char *command, const char *sub)
{
    for (size_t i = 0; i < cli_usage_count; i++) {
        const struct cli_usage *u = &cli_usages[i];
        if (strcmp(u->command, command) == 0 && (sub ? u->sub && strcmp(u->sub, sub) == 0 : u->sub == NULL))
            return u;
    }
    return NULL;
}

static bool has_subs(const char *command)
{
    for (size_t i = 0; i < cli_usage_count; i++)
        if (strcmp(cli_usages[i].command, command) == 0 && cli_usages[i].sub)
            return true;
    return false;
}

/* The columns TEXT takes on a terminal: a character outside ASCII counts two (the translations' are Chinese,
 * which terminals show double width), so continuation lines line up under a translated "Usage:". */
static int columns(const char *text)
{
    int n = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x80)
            n++;
        else if ((*p & 0xC0) != 0x80)
            n += 2;
    return n;
}

/* "PREFIX" before the first line of TEXT, an indent of INDENT spaces before every further line. */
static void print_lines(FILE *out, const char *prefix, const char *text, int indent)
{
    const char *p = text;

    fputs(prefix, out);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (p != text)
            fprintf(out, "%*s", indent, "");
        fprintf(out, "%.*s\n", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
    if (!*text)
        fputc('\n', out);
}

/* The first word of every usage. tools/man/ and tests/lint/help.sh read the English "Usage:" (they run with
 * LANGUAGE=en); people read their own language's. */
static const char *usage_word(void)
{
    /* TRANSLATORS: the first word of every usage, followed by "cardline COMMAND ..."; keep the space */
    return _("Usage: ");
}

/* "Usage: cardline COMMAND [SUB] SYNOPSIS", continuation lines under the synopsis's start */
static void print_synopsis(FILE *out, const struct cli_usage *u)
{
    char head[128];

    snprintf(head, sizeof(head), "%scardline %s%s%s%s", usage_word(), u->command, u->sub ? " " : "",
             u->sub ? u->sub : "", u->synopsis[0] ? " " : "");
    print_lines(out, head, u->synopsis, columns(head));
}

/* A text's details in the reader's language; @PHOTO_MODELS@ stands for the installed models' directory, which
 * is the build's, not the translators' */
static void print_details(FILE *out, const char *details)
{
    static const char token[] = "@PHOTO_MODELS@";
    const char *p = _(details), *at;

    while ((at = strstr(p, token))) {
        fprintf(out, "%.*s%s", (int)(at - p), p, PHOTO_DEFAULT_MODEL_DIR);
        p = at + strlen(token);
    }
    fputs(p, out);
}

void cli_usage_print(FILE *out, const char *command, const char *sub)
{
    const struct cli_usage *u = sub ? find(command, sub) : NULL;
    char sentence[512];

    if (!u)
        u = find(command, NULL);
    if (!u) {
        cli_usage_top(out);
        return;
    }
    print_synopsis(out, u);
    /* the summary as a sentence here (capital, full stop: the translation's own); lists show it as it is */
    snprintf(sentence, sizeof(sentence), "%s", _(u->summary));
    if (sentence[0] >= 'a' && sentence[0] <= 'z')
        sentence[0] = (char)toupper((unsigned char)sentence[0]);
    /* TRANSLATORS: a command's summary as a sentence: add the full stop your language writes */
    fprintf(out, _("%s.\n"), sentence);
    if (u->details)
        print_details(out, u->details);
    if (u->sub || !has_subs(command))
        return;
    fprintf(out, "%s\n", _("Commands:"));
    for (size_t i = 0; i < cli_usage_count; i++) {
        const struct cli_usage *s = &cli_usages[i];
        char head[64];
        if (strcmp(s->command, command) != 0 || !s->sub)
            continue;
        snprintf(head, sizeof(head), "  %s%s", s->sub, s->synopsis[0] ? " " : "");
        print_lines(out, head, s->synopsis, (int)strlen(head) + 2);
        fprintf(out, "      %s\n", _(s->summary));
    }
    /* TRANSLATORS: %s is a command's name; keep 'cardline %s COMMAND --help' as it is */
    fprintf(out, _("'cardline %s COMMAND --help' shows one command's options.\n"), command);
}

void cli_usage_top(FILE *out)
{
    fprintf(out, "%scardline [--data-dir DIR] [--db CONNINFO] [-v|-q] COMMAND [ARGS]\n", usage_word());
    fprintf(out, "%s\n%s\n", _("Production-line controller for social security cards."), _("Commands:"));
    for (size_t i = 0; i < cli_usage_count; i++) {
        const struct cli_usage *u = &cli_usages[i];
        if (!u->sub)
            fprintf(out, "  %-12s %s\n", u->command, _(u->summary));
    }
    /* TRANSLATORS: keep the layout: "Title:" alone heads a section, "  TERM  text" is an item (two spaces
       before and after the option or variable), deeper-indented lines continue it; options, variables and
       placeholders stay as they are */
    fputs(_("'cardline COMMAND --help' shows a command's subcommands and options.\n"
            "Global options:\n"
            "  --data-dir DIR  data directory (default $CARDLINE_DATA_DIR or $XDG_DATA_HOME/cardline)\n"
            "  --db CONNINFO  use this PostgreSQL server (libpq conninfo or URI); PG* variables work too\n"
            "  -v, --verbose  more log output\n"
            "  -q, --quiet  errors only\n"
            "  -h, --help  this help\n"
            "  --version  the version of cardline\n"
            "Environment:\n"
            "  CARDLINE_NOW  pin the bureau's clock (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]) for tests "
            "and\n"
            "      rehearsals; it runs on from there (CARDLINE_NOW_ANCHOR: when it held)\n"
            "  CARDLINE_DATA_DIR  the data directory when --data-dir is not given\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  failure (the message says why)\n"
            "  2  bad usage\n"),
          out);
}

bool cli_is_command(const char *command)
{
    return find(command, NULL) != NULL;
}

int cli_help(const char *command, int argc, char **argv)
{
    bool asked = false;

    /* "--" ends the options: what follows is an argument, even when it reads --help */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0 && !asked; i++)
        asked = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    if (!asked)
        return -1;
    /* the subcommand's own usage when the first argument names one, else the command's */
    cli_usage_print(stdout, command, argc > 1 ? argv[1] : NULL);
    return 0;
}

int cli_usage_error(const char *command, const char *sub)
{
    cli_usage_print(stderr, command, sub);
    return EXIT_USAGE;
}
