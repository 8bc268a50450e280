\echo Use "ALTER EXTENSION netbox_ssl UPDATE TO '1.5'" to load this file. \quit

-- netbox_ssl 1.4 -> 1.5: security hardening (issue "Security 2") and shape.
-- Each part below belongs to one topic; see docs/security.md for what each
-- attack did on 1.4 and what happens now.

-- ===========================================================================
-- Part A: hostile input and cancellation (security item 1)
-- ===========================================================================

-- (end of part A)

-- ===========================================================================
-- Part B: outbox: NOTIFY payload, consumer ownership, thresholds
-- (security items 2, 6, 9)
-- ===========================================================================

-- (end of part B)

-- ===========================================================================
-- Part C: history and locking: actor, assignment moves, repeated
-- transitions, internal switches, CSR key match, lock order
-- (security items 4, 10, 11, 12, 13)
-- ===========================================================================

-- (end of part C)

-- ===========================================================================
-- Part D: key material in logs, issuer_chain validation, issuer lookup
-- (security items 5, 7, 8)
-- ===========================================================================

-- (end of part D)

-- ===========================================================================
-- Part E: internal schema (security item 3)
-- ===========================================================================

-- (end of part E)

-- ===========================================================================
-- Part F: the NetBox bridge (issue "NetBox bridge")
-- ===========================================================================

-- (end of part F)

-- ===========================================================================
-- Part G: the NetBox SSL plugin's field formats (used by the bridge)
-- ===========================================================================

-- (end of part G)
