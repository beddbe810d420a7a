-- A supplier whose feed Kervan imports and to whom it forwards orders. `feed` holds the feed's
-- spec as JSON (URL, auth, format, preset, field mapping, encoding, CSV dialect); `rules` the
-- price/stock/new/missing rules; `forward` how orders go out (REST mapping or e-mail) and at
-- which OpenCart order status. Secrets inside them are never logged. `last_good_count` is the
-- item count of the last applied import (a feed far below it is quarantined);
-- `import_requested_at` when the scheduler last asked for an import (so it asks once per interval).
CREATE TABLE IF NOT EXISTS `{prefix}kervan_supplier` (
  `supplier_id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `code` VARCHAR(64) NOT NULL,
  `name` VARCHAR(128) NOT NULL,
  `enabled` TINYINT(1) NOT NULL DEFAULT 1,
  `feed` MEDIUMTEXT NULL,
  `rules` MEDIUMTEXT NULL,
  `forward` MEDIUMTEXT NULL,
  `import_interval` INT UNSIGNED NOT NULL DEFAULT 3600,
  `last_good_count` INT UNSIGNED NULL,
  `import_requested_at` TIMESTAMP(6) NULL,
  `date_added` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `date_modified` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`supplier_id`),
  UNIQUE KEY `code` (`code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Which OpenCart product (and, for a variant kept as an option value, which product_option_value)
-- a supplier's item became. `item_key` is FeedItem.key (group + code); `hash` the last applied
-- state, so an unchanged row costs nothing; `cost` what the supplier charges, for forwarding;
-- `barcode` the supplier's barcode as sent (OpenCart gets it only when it is a valid GTIN);
-- `missing_since` when the item left the feed (the missing-products policy was applied).
CREATE TABLE IF NOT EXISTS `{prefix}kervan_supplier_product` (
  `supplier_id` INT UNSIGNED NOT NULL,
  `item_key` VARCHAR(255) NOT NULL,
  `product_id` INT UNSIGNED NOT NULL,
  `product_option_value_id` INT UNSIGNED NOT NULL DEFAULT 0,
  `supplier_code` VARCHAR(128) NOT NULL DEFAULT '',
  `barcode` VARCHAR(64) NOT NULL DEFAULT '',
  `cost` DECIMAL(15,4) NULL,
  `currency` CHAR(3) NOT NULL DEFAULT 'TRY',
  `hash` CHAR(64) NOT NULL DEFAULT '',
  `missing_since` TIMESTAMP(6) NULL,
  `date_modified` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`supplier_id`, `item_key`),
  KEY `product` (`product_id`, `product_option_value_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One feed import: how it ended (running, applied, quarantined, failed), counts, the reason in
-- plain words when it did not apply, and the per-record problems (JSON, capped).
CREATE TABLE IF NOT EXISTS `{prefix}kervan_feed_run` (
  `run_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `supplier_id` INT UNSIGNED NOT NULL,
  `started_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `finished_at` TIMESTAMP(6) NULL,
  `outcome` VARCHAR(16) NOT NULL DEFAULT 'running',
  `items` INT UNSIGNED NOT NULL DEFAULT 0,
  `created` INT UNSIGNED NOT NULL DEFAULT 0,
  `updated` INT UNSIGNED NOT NULL DEFAULT 0,
  `unchanged` INT UNSIGNED NOT NULL DEFAULT 0,
  `missing` INT UNSIGNED NOT NULL DEFAULT 0,
  `skipped` INT UNSIGNED NOT NULL DEFAULT 0,
  `rejected` INT UNSIGNED NOT NULL DEFAULT 0,
  `duplicates` INT UNSIGNED NOT NULL DEFAULT 0,
  `events` INT UNSIGNED NOT NULL DEFAULT 0,
  `problems` MEDIUMTEXT NULL,
  `reason` TEXT NULL,
  PRIMARY KEY (`run_id`),
  KEY `supplier_started` (`supplier_id`, `started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The staging step of a feed run: every parsed item of the run under the supplier's rules (the
-- JSON of workers/suppliers/desired.py), keyed so a duplicate code in the feed replaces the
-- earlier record (last wins, counted), grouped by product for the apply phase. Rows live only
-- while their run does, so a feed of a million items never has to fit in a worker's memory.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_feed_item` (
  `run_id` BIGINT UNSIGNED NOT NULL,
  `item_key` VARCHAR(255) NOT NULL,
  `group_key` VARCHAR(255) NOT NULL,
  `record` INT UNSIGNED NOT NULL,
  `hash` CHAR(64) NOT NULL,
  `data` MEDIUMTEXT NOT NULL,
  PRIMARY KEY (`run_id`, `item_key`),
  KEY `run_group` (`run_id`, `group_key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
