-- One row per ad campaign (latest campaign snapshot), with its first and last day of reported spend.
with campaigns as (
    select * from {{ ref('stg_bronze__campaigns') }}
),

spend as (
    select campaign_id, min(date) as first_spend_date, max(date) as last_spend_date
    from {{ ref('ad_spend_daily') }}
    where cost_type = 'ad_spend'
    group by campaign_id
)

select
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.platform,
    campaigns.channel,
    campaigns.account_id,
    campaigns.account_type,
    campaigns.seller_id,
    campaigns.account_currency_code,
    campaigns.market_code,
    campaigns.daily_budget,
    campaigns.start_date,
    campaigns.end_date,
    spend.first_spend_date,
    spend.last_spend_date,
    campaigns.snapshot_date
from campaigns
left join spend on spend.campaign_id = campaigns.campaign_id
