-- One row per day x platform x campaign of ad spend, plus one row per day x channel x cost type x market x
-- currency of other channel costs (silver ad_spend_daily). Report days carry no time of day, so
-- date_reporting is the report day itself in every reporting timezone.
select
    date,
    date as date_reporting,
    cost_type,
    channel,
    platform,
    campaign_id,
    target_market as market_code,
    seller_id,
    impressions,
    clicks,
    spend_original,
    currency_code,
    spend_reporting,
    other_costs_reporting
from {{ ref('ad_spend_daily') }}
