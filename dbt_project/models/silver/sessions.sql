-- One row per analytics session. The landing (first) event gives channel, utm tags, referrer and landing
-- page; customer_key is the session's own logged-in customer, else the anonymous_id's identity-map
-- customer when the link happened by the end of the session (links never rewrite older sessions, so an
-- incremental run equals a full rebuild; touchpoints stitch backwards for attribution).
-- Incremental on session_date: events are read from one day before the window so that sessions crossing
-- midnight into it are whole, and only sessions starting in the window are kept.
{{ config(
    materialized='delta',
    incremental_column='session_date',
    partition_by=['session_date'],
) }}

{%- set window_start = incremental_window_start() %}

with events as (
    select *
    from {{ ref('int_events__channel_classified') }}
    {% if window_start %}where event_date >= cast({{ window_start }} - interval 1 day as date){% endif %}
),

identity_map as (
    select anonymous_id, customer_key, linked_at from {{ ref('identity_map') }}
),

first_visits as (
    -- every event of the visitor, not only the window's: the first session decides is_new_visitor
    select anonymous_id, arg_min(session_id, event_at) as first_session_id
    from {{ ref('stg_bronze__events') }}
    {% if window_start %}
    where anonymous_id in (select anonymous_id from events)
    {% endif %}
    group by anonymous_id
),

fx as (
    select rate_date, currency_code, to_reporting from {{ ref('int_fx_rates__daily') }}
),

aggregated as (
    select
        session_id,
        arg_min(anonymous_id, event_at) as anonymous_id,
        arg_min(customer_key, event_at) filter (where customer_key is not null) as own_customer_key,
        min(event_at) as session_start,
        max(event_at) as session_end,
        arg_min(market_code, event_at) as market_code,
        arg_min(language, event_at) as language,
        arg_min(device, event_at) as device,
        arg_min(platform, event_at) as platform,
        arg_min(channel, event_at) as channel,
        arg_min(is_paid, event_at) as is_paid,
        arg_min_null(utm_source, event_at) as utm_source,
        arg_min_null(utm_medium, event_at) as utm_medium,
        arg_min_null(utm_campaign, event_at) as utm_campaign,
        arg_min_null(campaign_id, event_at) as campaign_id,
        arg_min_null(click_id_type, event_at) as click_id_type,
        arg_min_null(referrer, event_at) as referrer,
        arg_min(page_path, event_at) as landing_page,
        count(*) as events,
        count(*) filter (where event_name = 'page_view') as page_views,
        count(*) filter (where event_name = 'search') as searches,
        count(*) filter (where event_name = 'product_view') as product_views,
        count(*) filter (where event_name = 'add_to_cart') as add_to_carts,
        count(*) filter (where event_name = 'begin_checkout') as checkouts,
        count(*) filter (where event_name = 'purchase') as purchases,
        arg_min(order_id, event_at) filter (where event_name = 'purchase') as purchase_order_id,
        sum(purchase_value) filter (where event_name = 'purchase') as purchase_value,
        arg_min(currency_code, event_at) filter (where event_name = 'purchase') as purchase_currency_code
    from events
    group by session_id
),

sessions as (
    select
        aggregated.*,
        cast(session_start as date) as session_date,
        coalesce(
            own_customer_key,
            case when identity_map.linked_at <= aggregated.session_end then identity_map.customer_key end
        ) as customer_key
    from aggregated
    left join identity_map on identity_map.anonymous_id = aggregated.anonymous_id
)

select
    sessions.session_id,
    sessions.anonymous_id,
    sessions.customer_key,
    sessions.own_customer_key is not null as is_logged_in,
    sessions.session_start,
    sessions.session_end,
    sessions.session_date,
    cast(timezone('{{ var("reporting_timezone") }}', sessions.session_start) as date) as session_date_reporting,
    date_diff('second', sessions.session_start, sessions.session_end) as duration_seconds,
    sessions.market_code,
    sessions.language,
    sessions.device,
    sessions.platform,
    sessions.channel,
    sessions.is_paid,
    sessions.utm_source,
    sessions.utm_medium,
    sessions.utm_campaign,
    sessions.campaign_id,
    sessions.click_id_type,
    sessions.referrer,
    sessions.landing_page,
    sessions.events,
    sessions.page_views,
    sessions.searches,
    sessions.product_views,
    sessions.add_to_carts,
    sessions.checkouts,
    sessions.purchases,
    sessions.purchases > 0 as has_purchase,
    sessions.purchase_order_id,
    sessions.purchase_value,
    sessions.purchase_currency_code,
    sessions.purchase_value * fx.to_reporting as purchase_value_reporting,
    sessions.session_id = first_visits.first_session_id as is_new_visitor
from sessions
left join first_visits on first_visits.anonymous_id = sessions.anonymous_id
left join fx
    on fx.currency_code = sessions.purchase_currency_code
    and fx.rate_date = sessions.session_date
{% if window_start %}where sessions.session_date >= {{ window_start }}{% endif %}
