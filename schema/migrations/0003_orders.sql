-- Where each channel's order polling got to: the start of the last poll that imported everything
-- it saw. The next poll asks from there minus an overlap, so an order changed while a poll ran
-- is seen again (importing is idempotent).
CREATE TABLE IF NOT EXISTS `{prefix}kervan_cursor` (
  `channel_id` INT UNSIGNED NOT NULL,
  `name` VARCHAR(32) NOT NULL,
  `value` DATETIME(6) NOT NULL,
  `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`channel_id`, `name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What the marketplace needs to act on an imported order (OrderRef: order number, package id,
-- remote line ids and quantities), and whether its shipment was reported back.
ALTER TABLE `{prefix}kervan_order_link`
  ADD COLUMN IF NOT EXISTS `ref` TEXT NULL,
  ADD COLUMN IF NOT EXISTS `tracking_number` VARCHAR(128) NULL,
  ADD COLUMN IF NOT EXISTS `shipped_at` TIMESTAMP(6) NULL;

-- Every run of a scheduler job: when, where, how it ended and what it did.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_job_run` (
  `run_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `job` VARCHAR(64) NOT NULL,
  `host` VARCHAR(128) NOT NULL,
  `pid` INT NOT NULL,
  `started_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `finished_at` TIMESTAMP(6) NULL,
  `outcome` VARCHAR(16) NOT NULL DEFAULT 'running',
  `counts` TEXT NULL,
  `error` TEXT NULL,
  PRIMARY KEY (`run_id`),
  KEY `job_started` (`job`, `started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
