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
