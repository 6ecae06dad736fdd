# help2roff.awk — one part of a man page in roff from the output of `cardline ... --help` (layout: help.c)
#   -v part=synopsis  the usage lines, bold command words, for a .nf block
#   -v part=name      the summary (the first line after the usage) for NAME, without its full stop
#   -v part=body      everything after the usage; "Title:" becomes .SH TITLE (sect=SH) or a bold paragraph
#                     (sect=PP, inside a subcommand's .SS); "  TERM  text" items become .TP; the list of
#                     subcommands and the pointer to their --help are left out (skip_commands=1)
function esc(t) {
    gsub(/\\/, "\\e", t)
    gsub(/-/, "\\-", t)
    if (t ~ /^[.']/) t = "\\&" t
    return t
}
function trim(t) { sub(/^ +/, "", t); sub(/ +$/, "", t); return t }
BEGIN { state = "usage"; words = 0 }
NR == 1 {
    line = $0; sub(/^Usage: /, "", line)
    # the command words: "cardline", the command and the subcommand (lower-case words before the arguments)
    n = split(line, w, " "); words = 1
    while (words < n && words < 3 && w[words + 1] ~ /^[a-z][a-z-]*$/) words++
    head = w[1]; for (i = 2; i <= words; i++) head = head " " w[i]
    rest = substr(line, length(head) + 2)
    if (part == "synopsis") print "\\fB" esc(head) "\\fR " esc(rest)
    next
}
state == "usage" && /^       / {
    if (part == "synopsis") print "    " esc(trim($0))
    next
}
state == "usage" { state = "summary" }
state == "summary" {
    state = "text"
    if (part == "name") { s = $0; sub(/\.$/, "", s); print esc(s); exit }
    if (part == "body") { print ".PP"; print esc($0) }
    next
}
part != "body" { next }
/^$/ { print ".PP"; item = 0; next }
/^[A-Z][A-Za-z ]*:$/ {
    title = substr($0, 1, length($0) - 1); item = 0
    skipping = skip_commands && title == "Commands"
    if (skipping) next
    if (sect == "SH") print ".SH " toupper(title)
    else { print ".PP"; print "\\fI" esc(title) ":\\fR" }
    next
}
skipping && /^ / { next }
skipping { skipping = 0 }
skip_commands && /^'cardline / { next }
/^  [^ ]/ {
    line = substr($0, 3); i = index(line, "  ")
    term = i ? substr(line, 1, i - 1) : line
    text = i ? trim(substr(line, i)) : ""
    print ".TP"; print "\\fB" esc(term) "\\fR"
    if (text != "") print esc(text)
    item = 1; next
}
/^    / && item { print esc(trim($0)); next }
{ if (item) { print ".PP"; item = 0 } print esc($0) }
