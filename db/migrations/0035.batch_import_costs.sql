-- depends: 0034.check_costs
-- What a large import costs (issue 11): every campaign row fed seven indexes, two of them on
-- pepper_id alone. promo_codes_live_pepper_idx (live campaigns) serves every query on the
-- fingerprint: api.check_pepper's skip scan and promo.check_rotation's two probes, whose
-- NOT internal filter meets the single internal campaign at most once.
DROP INDEX promo.promo_codes_pepper_idx;
