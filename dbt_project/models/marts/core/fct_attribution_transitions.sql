-- One row per Markov model x transition between states of the fitted chain: journeys making the transition
-- and its probability (from_state's outgoing journeys). From the Spark job.
select
    model,
    markov_order,
    from_state,
    to_state,
    journeys,
    probability
from {{ source('gold', 'attribution_transitions') }}
