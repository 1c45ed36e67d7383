// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";
import {AaveValidation} from "./utils/MockAave.sol";

import {Errors} from "../src/libraries/Errors.sol";
import {FixedPoint} from "../src/libraries/FixedPoint.sol";
import {RiskRule} from "../src/libraries/RiskRule.sol";

/// @dev Exposes the library's internal functions so reverts happen one call deeper than the test.
contract RiskRuleHarness {
    function params(uint256[] memory scores, uint8 outputScaleBits)
        external
        pure
        returns (uint16, uint16, uint16, uint16)
    {
        return RiskRule.params(scores, outputScaleBits);
    }

    function paramsFromSum(uint256 sum, uint256 n, uint8 outputScaleBits)
        external
        pure
        returns (uint16, uint16, uint16, uint16)
    {
        return RiskRule.paramsFromSum(sum, n, outputScaleBits);
    }
}

contract RiskRuleTest is Test {
    string internal constant VECTORS_PATH = "test/fixtures/risk_rule_vectors.json";
    uint8 internal constant SCALE = 11;
    uint256 internal constant ONE = uint256(1) << SCALE;

    RiskRuleHarness internal harness;

    function setUp() public {
        harness = new RiskRuleHarness();
    }

    /* ------------------------------------- vectors ------------------------------------- */

    /// @notice Every case in test/fixtures/risk_rule_vectors.json (shared with the Rust copy).
    function test_vectors() public view {
        string memory json = vm.readFile(VECTORS_PATH);
        uint256 count;
        while (vm.keyExistsJson(json, _key(count, ""))) {
            _checkVector(json, count);
            ++count;
        }
        assertGe(count, 12, "expected at least 12 vectors");
    }

    function _checkVector(string memory json, uint256 i) internal pure {
        string memory name = vm.parseJsonString(json, _key(i, ".name"));
        uint256 scaleBits = vm.parseJsonUint(json, _key(i, ".outputScaleBits"));
        uint256[] memory scores = vm.parseJsonUintArray(json, _key(i, ".scores"));
        assertLe(scaleBits, 64, name);
        // Casting is safe: checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        (uint16 ltv, uint16 lt, uint16 bonus, uint16 riskBps) = RiskRule.params(scores, uint8(scaleBits));
        assertEq(riskBps, vm.parseJsonUint(json, _key(i, ".riskBps")), string.concat(name, ": riskBps"));
        assertEq(ltv, vm.parseJsonUint(json, _key(i, ".ltv")), string.concat(name, ": ltv"));
        assertEq(lt, vm.parseJsonUint(json, _key(i, ".liquidationThreshold")), string.concat(name, ": lt"));
        assertEq(bonus, vm.parseJsonUint(json, _key(i, ".liquidationBonus")), string.concat(name, ": bonus"));
    }

    function _key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "]", field);
    }

    /* ----------------------------------- unit checks ----------------------------------- */

    function test_params_zeroRiskKeepsMaximumLtv() public pure {
        uint256[] memory scores = new uint256[](3);
        (uint16 ltv, uint16 lt, uint16 bonus, uint16 riskBps) = RiskRule.params(scores, SCALE);
        assertEq(riskBps, 0, "riskBps");
        assertEq(ltv, RiskRule.LTV_MAX_BPS, "ltv");
        assertEq(lt, RiskRule.LTV_MAX_BPS + RiskRule.LT_BUFFER_BPS, "lt");
        assertEq(bonus, RiskRule.BONUS_BPS, "bonus");
    }

    function test_params_revertsOnEmptyScores() public {
        vm.expectRevert(Errors.EmptyScores.selector);
        harness.params(new uint256[](0), SCALE);
    }

    function test_params_revertsOnScoreAboveOne() public {
        uint256[] memory scores = new uint256[](2);
        scores[1] = ONE + 1;
        vm.expectRevert(abi.encodeWithSelector(Errors.ScoreOutOfRange.selector, 1, ONE + 1));
        harness.params(scores, SCALE);
    }

    function test_paramsFromSum_revertsOnSumAboveBatch() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.ScoreOutOfRange.selector, 2, 2 * ONE + 1));
        harness.paramsFromSum(2 * ONE + 1, 2, SCALE);
    }

    function test_paramsFromSum_revertsOnOverflowingScale() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.OutputScaleTooLarge.selector, uint8(255)));
        harness.paramsFromSum(0, 2, 255);
    }

    function test_mulDiv_rounding() public pure {
        assertEq(FixedPoint.mulDivDown(7, 3, 2), 10);
        assertEq(FixedPoint.mulDivUp(7, 3, 2), 11);
        assertEq(FixedPoint.mulDivUp(8, 3, 2), 12);
        assertEq(FixedPoint.mulDivUp(0, 3, 2), 0);
        assertEq(FixedPoint.mulDivUp(type(uint256).max, 1, 1), type(uint256).max);
    }

    /// @notice The test helper validates like Aave v3 (the property the fuzz test below relies on).
    function test_aaveValidation_edgeCases() public pure {
        assertFalse(AaveValidation.isValidConfiguration(8_600, 8_500, 10_500), "ltv above lt");
        assertFalse(AaveValidation.isValidConfiguration(7_000, 7_500, 10_000), "bonus not above 100%");
        assertFalse(AaveValidation.isValidConfiguration(9_000, 9_600, 10_500), "lt x bonus = 10_080");
        assertFalse(AaveValidation.isValidConfiguration(0, 0, 10_500), "disabled with a bonus");
        assertFalse(AaveValidation.isValidConfiguration(70_000, 70_000, 10_500), "not 16-bit");
        assertTrue(AaveValidation.isValidConfiguration(0, 0, 0), "collateral disabled");
        // percentMul rounds half up: 9_524 * 10_500 -> 10_000.2 -> 10_000 (accepted).
        assertTrue(AaveValidation.isValidConfiguration(9_000, 9_524, 10_500), "10_000.2");
        // 9_995 * 10_005 -> 9_999.9975 -> 10_000 (accepted); 9_996 * 10_005 -> 10_000.998 -> 10_001.
        assertTrue(AaveValidation.isValidConfiguration(9_995, 9_995, 10_005), "half up to 10_000");
        assertFalse(AaveValidation.isValidConfiguration(9_996, 9_996, 10_005), "10_001");
    }

    /* -------------------------------------- fuzz -------------------------------------- */

    /// @notice More risk never raises the LTV; LTV in [5000, 8000]; LT = LTV + 500; the bonus is
    ///         constant; riskBps is the rounded-up mean; and the configurator accepts the result.
    function testFuzz_params_properties(uint256 n, uint256 sumA, uint256 sumB) public pure {
        n = bound(n, 1, type(uint16).max);
        sumA = bound(sumA, 0, n * ONE);
        sumB = bound(sumB, sumA, n * ONE);

        (uint16 ltvA, uint16 ltA, uint16 bonusA, uint16 riskA) = RiskRule.paramsFromSum(sumA, n, SCALE);
        (uint16 ltvB, uint16 ltB, uint16 bonusB, uint16 riskB) = RiskRule.paramsFromSum(sumB, n, SCALE);

        assertLe(riskA, riskB, "riskBps monotone in the scores");
        assertLe(ltvB, ltvA, "more risk never raises the ltv");
        assertGe(ltvA, RiskRule.LTV_MIN_BPS, "ltv >= floor");
        assertLe(ltvA, RiskRule.LTV_MAX_BPS, "ltv <= ceiling");
        assertEq(ltA, ltvA + RiskRule.LT_BUFFER_BPS, "lt = ltv + buffer");
        assertEq(ltB, ltvB + RiskRule.LT_BUFFER_BPS, "lt = ltv + buffer");
        assertEq(bonusA, RiskRule.BONUS_BPS, "bonus constant");
        assertEq(bonusB, RiskRule.BONUS_BPS, "bonus constant");
        assertLe(riskA, RiskRule.BPS, "riskBps <= 100%");
        // riskBps = ceil(sum * 10_000 / (n * ONE)): the smallest value not below the exact mean.
        assertGe(uint256(riskA) * n * ONE, sumA * RiskRule.BPS, "riskBps >= mean");
        if (riskA > 0) assertLe((uint256(riskA) - 1) * n * ONE, sumA * RiskRule.BPS - 1, "riskBps < mean + 1");
        assertTrue(AaveValidation.isValidConfiguration(ltvA, ltA, bonusA), "Aave validation accepts the result");
    }

    /// @notice The array entry point agrees with the sum entry point.
    function testFuzz_params_matchesParamsFromSum(uint256 seed, uint256 n) public pure {
        n = bound(n, 1, 64);
        uint256[] memory scores = new uint256[](n);
        uint256 sum;
        for (uint256 i; i < n; ++i) {
            scores[i] = uint256(keccak256(abi.encode(seed, i))) % (ONE + 1);
            sum += scores[i];
        }
        (uint16 a0, uint16 a1, uint16 a2, uint16 a3) = RiskRule.params(scores, SCALE);
        (uint16 b0, uint16 b1, uint16 b2, uint16 b3) = RiskRule.paramsFromSum(sum, n, SCALE);
        assertEq(a0, b0);
        assertEq(a1, b1);
        assertEq(a2, b2);
        assertEq(a3, b3);
    }
}
