-- 0014: the lines' own card counters go. Every figure of good and spoiled cards is counted from the cards
-- themselves (card.status, card.line_id); the counters were written on every card (one more update of the
-- line's row in each card's transaction, which all cards of a line contend for) and read by nothing.
ALTER TABLE line DROP COLUMN cards_good, DROP COLUMN cards_spoiled;
