-- One row per order: the channel credited by last non-direct click. Among the customer's identity-stitched
-- sessions (touchpoints) that started at or before the order's creation and at most 30 days before it,
-- the latest whose channel is not 'direct'; 'direct' with no campaign or session when there is none.
{{ config(materialized='table') }}

with orders as (
    select order_id, customer_key, order_created_at from {{ ref('stg_bronze__orders') }}
),

touches as (
    select customer_key, session_id, touch_at, channel, campaign_id
    from {{ ref('touchpoints') }}
    where channel <> 'direct'
),

purchase_sessions as (
    select purchase_order_id as order_id, min(session_id) as purchase_session_id
    from {{ ref('sessions') }}
    where purchase_order_id is not null
    group by purchase_order_id
),

last_non_direct as (
    select
        orders.order_id,
        touches.channel,
        touches.campaign_id,
        touches.session_id,
        touches.touch_at
    from orders
    inner join touches
        on touches.customer_key = orders.customer_key
        and touches.touch_at <= orders.order_created_at
        and touches.touch_at >= orders.order_created_at - interval 30 day
    qualify row_number() over (
        partition by orders.order_id order by touches.touch_at desc, touches.session_id desc
    ) = 1
)

select
    orders.order_id,
    coalesce(last_non_direct.channel, 'direct') as channel,
    last_non_direct.campaign_id,
    last_non_direct.session_id as credited_session_id,
    last_non_direct.touch_at as credited_touch_at,
    purchase_sessions.purchase_session_id
from orders
left join last_non_direct on last_non_direct.order_id = orders.order_id
left join purchase_sessions on purchase_sessions.order_id = orders.order_id
