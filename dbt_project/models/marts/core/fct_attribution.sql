-- One row per attribution model x conversion date (reporting timezone) x market x channel x campaign: the
-- orders (conversions, fractional) and GMV (revenue_reporting) the model credits to the touches of that
-- channel and campaign. Straight from the Spark job's gold table (spark_jobs/attribution).
select
    model,
    conversion_date as date_reporting,
    market_code,
    channel,
    campaign_id,
    conversions,
    revenue_reporting,
    touches
from {{ source('gold', 'attribution') }}
