-- One row per analytics session (silver sessions), incremental on session_date: each run replaces the
-- sessions from the window start (newest built date - lookback_days) on.
{{ config(
    materialized='incremental',
    incremental_strategy='window',
    incremental_column='session_date',
) }}

select
    session_id,
    anonymous_id,
    customer_key,
    is_logged_in,
    session_start,
    session_end,
    session_date,
    session_date_reporting,
    duration_seconds,
    market_code,
    language,
    device,
    platform,
    channel,
    is_paid,
    utm_source,
    utm_medium,
    utm_campaign,
    campaign_id,
    click_id_type,
    referrer,
    landing_page,
    events,
    page_views,
    searches,
    product_views,
    add_to_carts,
    checkouts,
    purchases,
    has_purchase,
    purchase_order_id,
    purchase_value,
    purchase_currency_code,
    purchase_value_reporting,
    is_new_visitor
from {{ ref('sessions') }}
{% if incremental_window_start() %}where session_date >= {{ incremental_window_start() }}{% endif %}
