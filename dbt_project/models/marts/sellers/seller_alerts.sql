-- One row per alert: seller, period, alert type, severity, subject (a lane or SKU, else null), the period's
-- value, its trailing baseline (median of the previous complete periods) and the robust z-score.
select seller_id, period_type, period_start, alert_type, severity, subject, metric_value, baseline_value, z_score
from {{ source('gold', 'seller_alerts') }}
