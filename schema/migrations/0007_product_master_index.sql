-- The catalog reads a product's variants with `WHERE master_id IN (…)`, and OpenCart 4 has no index
-- on `product.master_id` (its own admin scans the table too): at 100,000 products every read scanned
-- the whole table (50–600 ms). An index only reads faster; OpenCart never notices it. OpenCart 3.0
-- has no master_id column, so there the statement does nothing.
SET @kervan_master_index = IF((SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{prefix}product' AND column_name = 'master_id') > 0, 'CREATE INDEX IF NOT EXISTS `kervan_master_id` ON `{prefix}product` (`master_id`)', 'DO 0');
EXECUTE IMMEDIATE @kervan_master_index;
