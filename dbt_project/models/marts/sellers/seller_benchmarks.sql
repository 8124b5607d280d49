-- One row per seller x market x period x metric: the seller's own value and its percentile (0 worst, 1 best)
-- in its main category x market cohort. percentile is null when the cohort has fewer than 5 sellers
-- (is_shown false): reports never show it. No other seller's identity or figures are stored.
select
    seller_id, market_code, main_category, period_type, period_start, metric, value, cohort_size, percentile, is_shown
from {{ source('gold', 'seller_benchmarks') }}
