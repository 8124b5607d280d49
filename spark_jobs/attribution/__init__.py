"""Marketing attribution: heuristic and Markov-chain models (:mod:`.models`, pure Python), the aggregated
path-table mode of ``lakehouse attribution --paths`` (:mod:`.paths`) and the Spark job over silver journeys."""
