-- A parked message's body beyond the first part (`kervan_parked.body` holds the first
-- PARKED_PART_BYTES): one BLOB row cannot hold every body a broker accepts (InnoDB refuses a BLOB
-- over a tenth of the redo log, and the client sends bytes hex-encoded within max_allowed_packet),
-- so a large body is kept whole, in parts, and replayed byte for byte.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_parked_part` (
  `parked_id` BIGINT UNSIGNED NOT NULL,
  `seq` INT UNSIGNED NOT NULL,
  `data` MEDIUMBLOB NOT NULL,
  PRIMARY KEY (`parked_id`, `seq`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
