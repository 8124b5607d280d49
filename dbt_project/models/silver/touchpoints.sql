-- One row per session, identity-stitched backwards: a session belongs to the session's own logged-in
-- customer, else to the customer its anonymous_id was ever linked to (identity_map), so anonymous visits
-- before the first login count as that customer's touches. Sessions of never-linked visitors stay, with a
-- null customer_key, under the journey key 'anonymous:<anonymous_id>': the attribution job needs their
-- (non-converting) journeys. Read by the attribution job and by the last-non-direct-click credit (which
-- joins on customer_key, so anonymous rows never match an order); rebuilt in full because a new link
-- re-assigns older sessions.
{{ config(materialized='delta') }}

with sessions as (
    select * from {{ ref('sessions') }}
),

identity_map as (
    select anonymous_id, customer_key from {{ ref('identity_map') }}
),

stitched as (
    select
        coalesce(sessions.customer_key, identity_map.customer_key) as customer_key,
        case
            when sessions.is_logged_in then 'login'
            when sessions.customer_key is not null then 'identity_map'
            when identity_map.customer_key is not null then 'identity_map_backfill'
            else 'anonymous'
        end as stitched_by,
        sessions.*  exclude (customer_key)
    from sessions
    left join identity_map on identity_map.anonymous_id = sessions.anonymous_id
)

select
    coalesce(customer_key, 'anonymous:' || anonymous_id) as journey_key,
    customer_key,
    session_id,
    anonymous_id,
    session_start as touch_at,
    session_date as touch_date,
    channel,
    campaign_id,
    is_paid,
    click_id_type,
    market_code,
    device,
    has_purchase,
    purchase_order_id,
    stitched_by
from stitched
