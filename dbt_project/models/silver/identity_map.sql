-- One row per anonymous_id ever linked to a customer: the customer of its first link, which is the first
-- event carrying the logged-in customer_key ('login') or the first purchase event whose order_id is an
-- order of a known customer ('purchase'), whichever came first; ties go to the login. Rebuilt in full
-- every run (one scan of the identified events).
{{ config(materialized='delta') }}

with events as (
    select * from {{ ref('stg_bronze__events') }}
),

orders as (
    select order_id, customer_key from {{ ref('stg_bronze__orders') }}
),

login_links as (
    select anonymous_id, customer_key, event_at as linked_at, session_id, 'login' as link_source
    from events
    where customer_key is not null and event_name <> 'purchase'
),

purchase_links as (
    select events.anonymous_id, orders.customer_key, events.event_at as linked_at, events.session_id,
        'purchase' as link_source
    from events
    inner join orders on orders.order_id = events.order_id
    where events.event_name = 'purchase' and orders.customer_key is not null
),

links as (
    select * from login_links
    union all
    select * from purchase_links
),

first_links as (
    select
        anonymous_id,
        arg_min(links, (linked_at, link_source, customer_key)) as link,
        count(distinct customer_key) as linked_customers
    from links
    group by anonymous_id
)

select
    anonymous_id,
    link.customer_key,
    link.linked_at,
    cast(link.linked_at as date) as linked_date,
    link.link_source,
    link.session_id as linked_session_id,
    linked_customers
from first_links
