\set id random(1, 3)
UPDATE naive_counters SET votes = votes + 1 WHERE id = :id;
