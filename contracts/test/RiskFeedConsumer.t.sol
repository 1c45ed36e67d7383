// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {BaseTest} from "./Base.t.sol";

import {RiskFeedConsumer} from "../src/examples/RiskFeedConsumer.sol";
import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";

/// @notice The example consumer on the real oracle, fed by the real fixture proof (the committed
///         verifier accepts it in `submit`): it prices positions with the proven parameters and refuses
///         missing, stale, foreign or too risky data.
contract RiskFeedConsumerTest is BaseTest {
    uint64 internal constant STALENESS = 2 hours;
    uint16 internal constant MAX_RISK = 5_000;

    RiskFeedConsumer internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new RiskFeedConsumer(oracle, asset, MODEL_ID, STALENESS, MAX_RISK);
    }

    function _accept() internal returns (IRiskOracle.Update memory u) {
        u = validUpdate();
        _submit(u, fixtureProof);
    }

    function test_constructorRefusesZeroes() public {
        vm.expectRevert(RiskFeedConsumer.InvalidConfig.selector);
        new RiskFeedConsumer(IRiskOracle(address(0)), asset, MODEL_ID, STALENESS, MAX_RISK);
        vm.expectRevert(RiskFeedConsumer.InvalidConfig.selector);
        new RiskFeedConsumer(oracle, address(0), MODEL_ID, STALENESS, MAX_RISK);
        vm.expectRevert(RiskFeedConsumer.InvalidConfig.selector);
        new RiskFeedConsumer(oracle, asset, MODEL_ID, 0, MAX_RISK);
        vm.expectRevert(RiskFeedConsumer.InvalidConfig.selector);
        new RiskFeedConsumer(oracle, asset, MODEL_ID, STALENESS, 0);
        vm.expectRevert(RiskFeedConsumer.InvalidConfig.selector);
        new RiskFeedConsumer(oracle, asset, MODEL_ID, STALENESS, 10_001);
    }

    function test_noUpdateYetIsRefused() public {
        vm.expectRevert(abi.encodeWithSelector(RiskFeedConsumer.NoRiskData.selector, asset));
        consumer.borrowLimit(1e18);
        vm.expectRevert(abi.encodeWithSelector(RiskFeedConsumer.NoRiskData.selector, asset));
        consumer.isLiquidatable(1e18, 1);
    }

    function test_readsTheProvenParameters() public {
        IRiskOracle.Update memory u = _accept();
        IRiskOracle.MarketState memory s = consumer.freshState();
        assertEq(s.epoch, u.epoch, "epoch");
        assertEq(s.params.ltv, u.params.ltv, "ltv");
        assertEq(consumer.borrowLimit(1_000_000), 1_000_000 * uint256(u.params.ltv) / 10_000, "limit");
        uint256 lt = u.params.liquidationThreshold;
        // At the threshold exactly a position is not liquidatable; one unit above it is.
        assertFalse(consumer.isLiquidatable(10_000, lt), "at the threshold");
        assertTrue(consumer.isLiquidatable(10_000, lt + 1), "above the threshold");
    }

    function test_staleDataIsRefusedFromTheDataTimeNotTheSubmission() public {
        IRiskOracle.Update memory u = _accept();
        uint64 limit = u.dataTimestamp + STALENESS;
        vm.warp(limit);
        consumer.borrowLimit(1e18);
        vm.warp(limit + 1);
        vm.expectRevert(
            abi.encodeWithSelector(RiskFeedConsumer.StaleRiskData.selector, u.dataTimestamp, STALENESS, limit + 1)
        );
        consumer.borrowLimit(1e18);
        vm.expectRevert(
            abi.encodeWithSelector(RiskFeedConsumer.StaleRiskData.selector, u.dataTimestamp, STALENESS, limit + 1)
        );
        consumer.isLiquidatable(1e18, 1);
    }

    function test_anotherModelIsRefused() public {
        _accept();
        RiskFeedConsumer other = new RiskFeedConsumer(oracle, asset, MODEL_ID + 1, STALENESS, MAX_RISK);
        vm.expectRevert(abi.encodeWithSelector(RiskFeedConsumer.UnexpectedModel.selector, MODEL_ID, MODEL_ID + 1));
        other.borrowLimit(1e18);
    }

    function test_aRetiredModelIsRefused() public {
        _accept();
        vm.prank(owner);
        oracle.scheduleRetireModel(MODEL_ID);
        vm.warp(block.timestamp + TIMELOCK);
        oracle.retireModel(MODEL_ID);
        // Fresh data still: the consumer's staleness allows it, the registry does not.
        RiskFeedConsumer patient = new RiskFeedConsumer(oracle, asset, MODEL_ID, TIMELOCK + 1 days, MAX_RISK);
        vm.expectRevert(abi.encodeWithSelector(RiskFeedConsumer.ModelRetired.selector, MODEL_ID));
        patient.borrowLimit(1e18);
    }

    function test_noOverflowAtTheLargestValues() public {
        IRiskOracle.Update memory u = _accept();
        uint256 max = type(uint256).max;
        assertEq(
            consumer.borrowLimit(max), max / 10_000 * u.params.ltv + (max % 10_000) * u.params.ltv / 10_000, "limit"
        );
        assertFalse(consumer.isLiquidatable(max, 1), "tiny debt");
        assertTrue(consumer.isLiquidatable(1, max), "huge debt");
    }

    function test_circuitBreakerStopsBorrowsButNotLiquidations() public {
        _accept();
        uint16 risk = oracle.marketState(asset).riskBps;
        assertGe(risk, 2, "fixture risk");
        RiskFeedConsumer strict = new RiskFeedConsumer(oracle, asset, MODEL_ID, STALENESS, risk - 1);
        vm.expectRevert(abi.encodeWithSelector(RiskFeedConsumer.RiskTooHigh.selector, risk, risk - 1));
        strict.borrowLimit(1e18);
        assertFalse(strict.isLiquidatable(1e18, 1), "liquidation checks go on");
        RiskFeedConsumer exact = new RiskFeedConsumer(oracle, asset, MODEL_ID, STALENESS, risk);
        assertGe(exact.borrowLimit(1e18), 1, "at the breaker exactly, borrows go on");
    }

    /// @notice The limit never exceeds the collateral times the proven LTV, and a position at its
    ///         borrow limit is never liquidatable (LTV < LT holds on-chain).
    function testFuzz_borrowLimitStaysBelowLiquidation(uint256 collateral, uint256 age) public {
        IRiskOracle.Update memory u = _accept();
        collateral = bound(collateral, 1, type(uint256).max);
        age = bound(age, 0, STALENESS - (now_() - u.dataTimestamp));
        vm.warp(block.timestamp + age);
        uint256 limit = consumer.borrowLimit(collateral);
        assertLe(
            limit, collateral / 10_000 * u.params.ltv + (collateral % 10_000) * u.params.ltv / 10_000, "limit above LTV"
        );
        assertFalse(consumer.isLiquidatable(collateral, limit), "liquidatable at the limit");
    }
}
