-- One row per order: its latest version (highest `version`; ties on re-sent records broken by the latest
-- ingest), with the time each life-cycle status was first reached (from all versions). Timestamps are UTC;
-- the marketplace's local offset of the source is kept for reference.
-- A table, not a view: the window over all versions is computed once per build, not by each of its ~25 tests
-- and every downstream model.
{{ config(materialized='table') }}

with source as (
    select * from {{ source('bronze', 'orders') }}
),

versions as (
    select
        *,
        min(case when status = 'paid' then updated_at end) over by_order as paid_at,
        min(case when status = 'shipped' then updated_at end) over by_order as shipped_at,
        min(case when status = 'delivered' then updated_at end) over by_order as delivered_at,
        min(case when status = 'cancelled' then updated_at end) over by_order as cancelled_at,
        min(case when status = 'returned' then updated_at end) over by_order as returned_at,
        min(case when refund_amount > 0 then updated_at end) over by_order as refunded_at
    from source
    window by_order as (partition by order_id)
),

latest as (
    select *
    from versions
    qualify row_number() over (partition by order_id order by version desc, _ingested_at desc) = 1
),

renamed as (
    select
        order_id,
        version as order_version,
        status as order_status,
        created_at as order_created_at,
        updated_at as order_updated_at,
        created_at_offset as order_created_at_offset,
        marketplace as market_code,
        seller_id,
        customer_key,
        currency as currency_code,
        buyer_language,
        buyer_signup_date,
        items as items_json,
        subtotal::decimal(18, 4) as subtotal,
        discount_total::decimal(18, 4) as discount_total,
        shipping_fee::decimal(18, 4) as shipping_fee,
        tax::decimal(18, 4) as tax,
        total::decimal(18, 4) as order_total,
        payment_method,
        payment_status,
        service_level,
        shipments as shipments_json,
        refund_amount::decimal(18, 4) as refund_amount,
        paid_at,
        shipped_at,
        delivered_at,
        cancelled_at,
        returned_at,
        refunded_at,
        _source_file as source_file,
        _ingested_at as ingested_at
    from latest
)

select * from renamed
