-- One row per recommendation from the insights job's explicit rules (restock_sku, restock_stocked_out,
-- shift_budget, investigate_lane, review_refunds) for a seller and period; priority 1 is the most urgent.
select seller_id, period_type, period_start, rule, priority, subject, metric_value, reference_value
from {{ source('gold', 'seller_recommendations') }}
