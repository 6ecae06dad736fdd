-- 0013: a new bureau is Shaoguan's (韶关市, GB/T 2260 region code 440200) instead of Guangzhou's (440100).
-- The region is the bureau's setting (every chip carries it), so a running bureau's is never rewritten: only a
-- database nothing has happened in yet (no outlet, application, card, photo or event: the migrations of a new
-- database run one after the other before anything else) still holding 0001's default changes. A bureau set
-- up before this keeps its region; another region is set with
--     UPDATE setting SET value = '440300' WHERE key = 'region_code';
UPDATE setting SET value = '440200'
WHERE key = 'region_code' AND value = '440100'
  AND NOT EXISTS (SELECT 1 FROM outlet)
  AND NOT EXISTS (SELECT 1 FROM application)
  AND NOT EXISTS (SELECT 1 FROM card)
  AND NOT EXISTS (SELECT 1 FROM photo)
  AND NOT EXISTS (SELECT 1 FROM event);
