-- One row per order line, from the silver order lines. Incremental: a run replaces (on order_line_id) the
-- lines of orders updated from (newest order_updated_date built - lookback_days) on.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='order_line_id',
    incremental_column='order_updated_date',
) }}
{%- set window_start = incremental_window_start() %}

select
    order_id || '-' || line_no as order_line_id,
    order_id,
    line_no,
    sku,
    seller_id,
    market_code,
    customer_key,
    order_created_at,
    order_date,
    order_updated_date,
    quantity,
    unit_price_original,
    line_discount_original,
    line_value_original,
    currency_code,
    line_value_reporting,
    fx_to_reporting,
    order_status,
    is_cancelled
from {{ ref('order_lines') }}
{% if window_start %} where order_updated_date >= {{ window_start }} {% endif %}
