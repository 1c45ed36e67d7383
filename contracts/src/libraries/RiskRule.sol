// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Errors} from "./Errors.sol";
import {FixedPoint} from "./FixedPoint.sol";

/// @title RiskRule
/// @notice The published, deterministic map from a proven batch of liquidation probabilities to a
///         reserve's collateral parameters. Anyone can recompute it from the proof's public outputs;
///         `RiskOracle` accepts an update only if its parameters are exactly this rule's output.
/// @dev The rule, with n = number of scores and ONE = 2^outputScaleBits (each score is
///      round(p * ONE) for a probability p in [0, 1]):
///
///          riskBps = mulDivUp(sum(scores), 10_000, n * ONE)        mean probability in bps, rounded up
///          r       = min(riskBps, RISK_CAP_BPS)                    RISK_CAP_BPS = 2_000
///          cut     = mulDivUp(LTV_MAX_BPS - LTV_MIN_BPS, r, RISK_CAP_BPS)
///          ltv                  = LTV_MAX_BPS - cut                 LTV_MAX_BPS = 8_000, LTV_MIN_BPS = 5_000
///          liquidationThreshold = ltv + LT_BUFFER_BPS               LT_BUFFER_BPS = 500
///          liquidationBonus     = BONUS_BPS                         BONUS_BPS = 10_500
///
///      Both roundings are up, so the risk is never understated and the LTV never overstated:
///      they favour the protocol. A mean risk of 0 keeps LTV at 80%; a mean risk of 20% or more
///      takes it to 50%, linearly in between. The output always passes Aave v3's validation
///      (ltv <= lt, bonus > 100%, percentMul(lt, bonus) = 8_925 at most <= 10_000).
///      The Rust copy (`zkrisk-oracle`) must keep this arithmetic exactly;
///      test/fixtures/risk_rule_vectors.json holds vectors both sides check.
library RiskRule {
    using FixedPoint for uint256;

    /// @notice 100% in basis points.
    uint256 internal constant BPS = 10_000;
    /// @notice Mean risk at and above which the LTV reaches its floor.
    uint256 internal constant RISK_CAP_BPS = 2_000;
    /// @notice LTV at zero risk.
    uint256 internal constant LTV_MAX_BPS = 8_000;
    /// @notice LTV at and above the risk cap.
    uint256 internal constant LTV_MIN_BPS = 5_000;
    /// @notice Gap between the LTV and the liquidation threshold.
    uint256 internal constant LT_BUFFER_BPS = 500;
    /// @notice Liquidation bonus (10_500 = a 5% bonus), constant under this rule.
    uint256 internal constant BONUS_BPS = 10_500;

    /// @notice Applies the rule to a batch of scores.
    /// @dev Reverts with `EmptyScores` on an empty batch and `ScoreOutOfRange` if a score is above
    ///      ONE. `outputScaleBits` must keep `n * ONE` within uint256 (checked arithmetic reverts).
    /// @param scores The proof's public outputs, each round(p * 2^outputScaleBits).
    /// @param outputScaleBits The model's output scale (ezkl `model_output_scales`).
    /// @return ltv The loan-to-value, in bps.
    /// @return liquidationThreshold The liquidation threshold, in bps.
    /// @return liquidationBonus The liquidation bonus, in bps.
    /// @return riskBps The batch's mean probability, in bps, rounded up (at most 10_000).
    function params(uint256[] memory scores, uint8 outputScaleBits)
        internal
        pure
        returns (uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, uint16 riskBps)
    {
        uint256 one = uint256(1) << outputScaleBits;
        uint256 sum;
        for (uint256 i; i < scores.length; ++i) {
            uint256 score = scores[i];
            if (score > one) revert Errors.ScoreOutOfRange(i, score);
            sum += score;
        }
        return paramsFromSum(sum, scores.length, outputScaleBits);
    }

    /// @notice The rule from the sum of a batch of `n` scores that were each checked to be at most
    ///         ONE (as `RiskOracle.submit` does while it range-checks them).
    /// @dev Reverts with `EmptyScores` if `n == 0` and with `ScoreOutOfRange(n, sum)` if
    ///      `sum > n * ONE`, which no batch of in-range scores can reach.
    function paramsFromSum(uint256 sum, uint256 n, uint8 outputScaleBits)
        internal
        pure
        returns (uint16 ltv, uint16 liquidationThreshold, uint16 liquidationBonus, uint16 riskBps)
    {
        if (n == 0) revert Errors.EmptyScores();
        uint256 denominator = n << outputScaleBits;
        if (denominator >> outputScaleBits != n) revert Errors.OutputScaleTooLarge(outputScaleBits);
        if (sum > denominator) revert Errors.ScoreOutOfRange(n, sum);

        uint256 risk = sum.mulDivUp(BPS, denominator);
        uint256 capped = risk < RISK_CAP_BPS ? risk : RISK_CAP_BPS;
        uint256 cut = (LTV_MAX_BPS - LTV_MIN_BPS).mulDivUp(capped, RISK_CAP_BPS);
        uint256 newLtv = LTV_MAX_BPS - cut;

        // Casting to uint16 is safe: risk <= 10_000 (sum <= denominator), newLtv <= 8_000, and
        // newLtv + LT_BUFFER_BPS <= 8_500, BONUS_BPS = 10_500 are all below 2^16.
        // forge-lint: disable-start(unsafe-typecast)
        ltv = uint16(newLtv);
        liquidationThreshold = uint16(newLtv + LT_BUFFER_BPS);
        liquidationBonus = uint16(BONUS_BPS);
        riskBps = uint16(risk);
        // forge-lint: disable-end(unsafe-typecast)
    }
}
