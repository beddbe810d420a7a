-- One full reconciliation of a channel: Kervan read what the marketplace really holds for every
-- synced listing, compared it with what OpenCart says it should hold, and resent what drifted.
-- `drift` lists the differences found (capped), for the dashboard.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_reconcile_report` (
  `report_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `started_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `finished_at` TIMESTAMP(6) NULL,
  `outcome` VARCHAR(16) NOT NULL DEFAULT 'running',
  `checked` INT UNSIGNED NOT NULL DEFAULT 0,
  `drifted` INT UNSIGNED NOT NULL DEFAULT 0,
  `missing` INT UNSIGNED NOT NULL DEFAULT 0,
  `fixed` INT UNSIGNED NOT NULL DEFAULT 0,
  `drift` MEDIUMTEXT NULL,
  `error` TEXT NULL,
  PRIMARY KEY (`report_id`),
  KEY `channel_started` (`channel_id`, `started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- When the merchant cancelled a marketplace order in OpenCart and Kervan told the marketplace
-- (once; NULL while not cancelled that way).
ALTER TABLE `{prefix}kervan_order_link`
  ADD COLUMN IF NOT EXISTS `cancelled_at` TIMESTAMP(6) NULL;
