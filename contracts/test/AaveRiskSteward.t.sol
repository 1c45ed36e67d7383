// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";
import {MockAaveMarket} from "./utils/MockAave.sol";
import {Bounds} from "./Base.t.sol";

import {AaveRiskSteward} from "../src/AaveRiskSteward.sol";
import {IAaveRiskSteward} from "../src/interfaces/IAaveRiskSteward.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Events} from "../src/libraries/Events.sol";

/// @notice The steward against a mock Aave market that validates like Aave (the real PoolConfigurator path
///         is tested in Rust on anvil): every revert path by selector, the bounds, delays, expiry, guardian.
contract AaveRiskStewardTest is Test, Bounds {
    uint8 internal constant LTV = 0;
    uint8 internal constant LT = 1;
    uint8 internal constant BONUS = 2;
    uint8 internal constant SUPPLY = 3;
    uint8 internal constant BORROW = 4;
    uint64 internal constant KEEP = type(uint64).max;
    uint40 internal constant DELAY = 1 hours;
    uint256 internal constant T0 = 1_700_000_000;

    address internal immutable owner = makeAddr("owner");
    address internal immutable guardian = makeAddr("guardian");
    address internal immutable oracle = makeAddr("oracle");
    address internal immutable stranger = makeAddr("stranger");
    address internal immutable asset = makeAddr("asset");

    MockAaveMarket internal aave;
    AaveRiskSteward internal steward;

    function setUp() public {
        vm.warp(T0);
        aave = new MockAaveMarket();
        aave.listReserve(asset, MockAaveMarket.Reserve(8_000, 8_500, 10_500, 1_000_000, 800_000));
        steward = new AaveRiskSteward(address(aave), address(aave), owner, guardian, DELAY, aaveBounds());
        aave.setRiskAdmin(address(steward));
        vm.prank(owner);
        steward.setRiskOracle(oracle);
    }

    /* ------------------------------------- helpers ------------------------------------- */

    function _update(uint16 ltv, uint16 lt, uint16 bonus, uint64 supplyCap, uint64 borrowCap)
        internal
        view
        returns (IAaveRiskSteward.ParamUpdate memory)
    {
        return IAaveRiskSteward.ParamUpdate({
            asset: asset,
            ltv: ltv,
            liquidationThreshold: lt,
            liquidationBonus: bonus,
            supplyCap: supplyCap,
            borrowCap: borrowCap,
            validUntil: uint40(block.timestamp + 1 days)
        });
    }

    function _current() internal view returns (IAaveRiskSteward.ParamUpdate memory) {
        return _update(8_000, 8_500, 10_500, KEEP, KEEP);
    }

    function _queue(IAaveRiskSteward.ParamUpdate memory u) internal returns (uint256 id) {
        vm.prank(oracle);
        id = steward.queue(u);
    }

    function _queueAndExecute(IAaveRiskSteward.ParamUpdate memory u) internal returns (uint256 id) {
        id = _queue(u);
        vm.warp(block.timestamp + DELAY);
        steward.execute(id);
    }

    function _expectQueueRevert(IAaveRiskSteward.ParamUpdate memory u, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(oracle);
        steward.queue(u);
    }

    /* ----------------------------------- constructor ----------------------------------- */

    function test_constructor_rejectsZeroAddresses() public {
        IAaveRiskSteward.Bound[5] memory b = aaveBounds();
        vm.expectRevert(Errors.ZeroAddress.selector);
        new AaveRiskSteward(address(0), address(aave), owner, guardian, DELAY, b);
        vm.expectRevert(Errors.ZeroAddress.selector);
        new AaveRiskSteward(address(aave), address(0), owner, guardian, DELAY, b);
        vm.expectRevert(Errors.ZeroAddress.selector);
        new AaveRiskSteward(address(aave), address(aave), address(0), guardian, DELAY, b);
    }

    function test_constructor_rejectsBadBounds() public {
        IAaveRiskSteward.Bound[5] memory b = aaveBounds();
        b[LT].minDelay = 0;
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidBounds.selector, LT));
        new AaveRiskSteward(address(aave), address(aave), owner, guardian, DELAY, b);
        b = aaveBounds();
        b[SUPPLY].maxDecrease = 10_000;
        vm.expectRevert(abi.encodeWithSelector(Errors.InvalidBounds.selector, SUPPLY));
        new AaveRiskSteward(address(aave), address(aave), owner, guardian, DELAY, b);
    }

    function test_constructor_setsEverything() public view {
        assertEq(steward.poolConfigurator(), address(aave));
        assertEq(steward.poolDataProvider(), address(aave));
        assertEq(steward.owner(), owner);
        assertEq(steward.guardian(), guardian);
        assertEq(steward.riskOracle(), oracle);
        assertEq(steward.executionDelay(), DELAY);
        assertEq(steward.KEEP_CURRENT(), KEEP);
        assertEq(steward.bound(LTV).maxDecrease, 50);
        assertEq(steward.bound(SUPPLY).maxIncrease, 3_000);
        assertEq(steward.bound(BORROW).minDelay, 3 days);
    }

    /* ------------------------------------ governance ------------------------------------ */

    function test_setRiskOracle_onlyOwnerOnceNonZero() public {
        AaveRiskSteward fresh = new AaveRiskSteward(address(aave), address(aave), owner, guardian, DELAY, aaveBounds());
        vm.prank(stranger);
        vm.expectRevert(Errors.NotOwner.selector);
        fresh.setRiskOracle(oracle);
        vm.prank(owner);
        vm.expectRevert(Errors.ZeroAddress.selector);
        fresh.setRiskOracle(address(0));
        vm.expectEmit(true, true, true, true, address(fresh));
        emit Events.RiskOracleSet(oracle);
        vm.prank(owner);
        fresh.setRiskOracle(oracle);
        vm.prank(owner);
        vm.expectRevert(Errors.OracleAlreadySet.selector);
        fresh.setRiskOracle(stranger);
        assertEq(fresh.riskOracle(), oracle);
    }

    function test_setGuardian_andRestriction_onlyOwner() public {
        vm.prank(stranger);
        vm.expectRevert(Errors.NotOwner.selector);
        steward.setGuardian(stranger);
        vm.prank(guardian);
        vm.expectRevert(Errors.NotOwner.selector);
        steward.setAssetRestricted(asset, true);

        vm.expectEmit(true, true, true, true, address(steward));
        emit Events.GuardianSet(guardian, stranger);
        vm.prank(owner);
        steward.setGuardian(stranger);
        assertEq(steward.guardian(), stranger);
        vm.prank(owner);
        steward.setAssetRestricted(asset, true);
        assertTrue(steward.isRestricted(asset), "restricted");
    }

    function test_pause_guardianOrOwnerOnly() public {
        vm.prank(stranger);
        vm.expectRevert(Errors.NotGuardian.selector);
        steward.pause();
        vm.prank(oracle);
        vm.expectRevert(Errors.NotGuardian.selector);
        steward.unpause();

        vm.prank(guardian);
        steward.pause();
        assertTrue(steward.paused(), "paused by guardian");
        vm.prank(owner);
        steward.unpause();
        assertFalse(steward.paused(), "unpaused by owner");
        vm.prank(owner);
        steward.pause();
        vm.prank(guardian);
        steward.unpause();
        assertFalse(steward.paused(), "unpaused by guardian");
    }

    function test_pause_withoutGuardianOnlyOwner() public {
        vm.prank(owner);
        steward.setGuardian(address(0));
        vm.prank(address(0));
        vm.expectRevert(Errors.NotGuardian.selector);
        steward.pause();
    }

    /* -------------------------------------- queue -------------------------------------- */

    function test_queue_revertsForOthers() public {
        IAaveRiskSteward.ParamUpdate memory u = _update(7_990, 8_490, 10_500, KEEP, KEEP);
        vm.prank(stranger);
        vm.expectRevert(Errors.NotRiskOracle.selector);
        steward.queue(u);
        vm.prank(owner);
        vm.expectRevert(Errors.NotRiskOracle.selector);
        steward.queue(u);
    }

    function test_queue_revertsBeforeOracleIsNamed() public {
        AaveRiskSteward fresh = new AaveRiskSteward(address(aave), address(aave), owner, guardian, DELAY, aaveBounds());
        vm.prank(address(0));
        vm.expectRevert(Errors.NotRiskOracle.selector);
        fresh.queue(_current());
    }

    function test_queue_revertsWhenPaused() public {
        vm.prank(guardian);
        steward.pause();
        _expectQueueRevert(_current(), abi.encodeWithSelector(Errors.StewardPaused.selector));
    }

    function test_queue_revertsForRestrictedAsset() public {
        vm.prank(owner);
        steward.setAssetRestricted(asset, true);
        _expectQueueRevert(_current(), abi.encodeWithSelector(Errors.AssetRestricted.selector, asset));
    }

    function test_queue_revertsWhenExpired() public {
        IAaveRiskSteward.ParamUpdate memory u = _current();
        u.validUntil = uint40(block.timestamp - 1);
        _expectQueueRevert(u, abi.encodeWithSelector(Errors.UpdateExpired.selector, u.validUntil, block.timestamp));
    }

    function test_queue_rejectsZeroValues() public {
        _expectQueueRevert(
            _update(0, 8_500, 10_500, KEEP, KEEP), abi.encodeWithSelector(Errors.ZeroValue.selector, LTV)
        );
        _expectQueueRevert(_update(8_000, 0, 10_500, KEEP, KEEP), abi.encodeWithSelector(Errors.ZeroValue.selector, LT));
        _expectQueueRevert(
            _update(8_000, 8_500, 0, KEEP, KEEP), abi.encodeWithSelector(Errors.ZeroValue.selector, BONUS)
        );
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, 0, KEEP), abi.encodeWithSelector(Errors.ZeroValue.selector, SUPPLY)
        );
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, KEEP, 0), abi.encodeWithSelector(Errors.ZeroValue.selector, BORROW)
        );
    }

    function test_queue_rejectsLtvNotBelowLt() public {
        _expectQueueRevert(
            _update(8_500, 8_500, 10_500, KEEP, KEEP),
            abi.encodeWithSelector(Errors.LtvNotBelowLt.selector, 8_500, 8_500)
        );
        _expectQueueRevert(
            _update(8_520, 8_500, 10_500, KEEP, KEEP),
            abi.encodeWithSelector(Errors.LtvNotBelowLt.selector, 8_520, 8_500)
        );
    }

    function test_queue_rejectsMovesBeyondAbsoluteBounds() public {
        bytes4 sel = Errors.BoundExceeded.selector;
        _expectQueueRevert(_update(8_051, 8_500, 10_500, KEEP, KEEP), abi.encodeWithSelector(sel, LTV, 8_000, 8_051));
        _expectQueueRevert(_update(7_949, 8_500, 10_500, KEEP, KEEP), abi.encodeWithSelector(sel, LTV, 8_000, 7_949));
        _expectQueueRevert(_update(8_000, 8_551, 10_500, KEEP, KEEP), abi.encodeWithSelector(sel, LT, 8_500, 8_551));
        _expectQueueRevert(_update(8_000, 8_449, 10_500, KEEP, KEEP), abi.encodeWithSelector(sel, LT, 8_500, 8_449));
        _expectQueueRevert(
            _update(8_000, 8_500, 10_551, KEEP, KEEP), abi.encodeWithSelector(sel, BONUS, 10_500, 10_551)
        );
        _expectQueueRevert(
            _update(8_000, 8_500, 10_449, KEEP, KEEP), abi.encodeWithSelector(sel, BONUS, 10_500, 10_449)
        );
    }

    function test_queue_rejectsCapMovesBeyondRelativeBounds() public {
        bytes4 sel = Errors.BoundExceeded.selector;
        // +30 % of 1,000,000 is 300,000; -30 % of 800,000 is 240,000.
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, 1_300_001, KEEP), abi.encodeWithSelector(sel, SUPPLY, 1_000_000, 1_300_001)
        );
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, 699_999, KEEP), abi.encodeWithSelector(sel, SUPPLY, 1_000_000, 699_999)
        );
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, KEEP, 1_040_001), abi.encodeWithSelector(sel, BORROW, 800_000, 1_040_001)
        );
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, KEEP, 559_999), abi.encodeWithSelector(sel, BORROW, 800_000, 559_999)
        );
        // The edges themselves are allowed.
        _queue(_update(8_000, 8_500, 10_500, 1_300_000, 560_000));
    }

    function test_queue_rejectsUnlimitedCap() public {
        aave.listReserve(asset, MockAaveMarket.Reserve(8_000, 8_500, 10_500, 0, 800_000));
        _expectQueueRevert(
            _update(8_000, 8_500, 10_500, 100, KEEP), abi.encodeWithSelector(Errors.UnlimitedCap.selector, SUPPLY)
        );
        // Keeping an unlimited cap is fine.
        _queue(_update(8_000, 8_500, 10_500, KEEP, KEEP));
    }

    function test_queue_rejectsChangeBeforeMinDelay() public {
        _queueAndExecute(_update(7_950, 8_450, 10_500, KEEP, KEEP));
        uint64 changedAt = uint64(block.timestamp);
        vm.warp(block.timestamp + 3 days - 1);
        _expectQueueRevert(
            _update(7_900, 8_450, 10_500, KEEP, KEEP),
            abi.encodeWithSelector(Errors.DelayNotElapsed.selector, LTV, changedAt, uint64(3 days))
        );
        // An unchanged parameter is not subject to its delay; the bonus never moved.
        _queue(_update(7_950, 8_450, 10_520, KEEP, KEEP));
        vm.warp(block.timestamp + 1);
        _queue(_update(7_900, 8_400, 10_500, KEEP, KEEP));
    }

    function test_queue_emitsAndStores() public {
        IAaveRiskSteward.ParamUpdate memory u = _update(7_990, 8_490, 10_500, 1_100_000, KEEP);
        vm.expectEmit(true, true, true, true, address(steward));
        emit Events.UpdateQueued(1, asset, u, uint40(block.timestamp) + DELAY);
        uint256 id = _queue(u);
        assertEq(id, 1);
        assertEq(steward.updateCount(), 1);
        assertEq(steward.latestUpdateId(asset), 1);
        IAaveRiskSteward.QueuedUpdate memory q = steward.queuedUpdate(1);
        assertEq(q.update.ltv, 7_990);
        assertEq(q.update.supplyCap, 1_100_000);
        assertEq(q.queuedAt, block.timestamp);
        assertEq(uint8(q.status), uint8(IAaveRiskSteward.Status.Pending));
        // Nothing moved in Aave yet.
        (uint256 ltv,,,,) = aave.reserves(asset);
        assertEq(ltv, 8_000);
    }

    /* ------------------------------------- execute ------------------------------------- */

    function test_execute_appliesAfterDelay() public {
        uint256 id = _queue(_update(7_990, 8_490, 10_500, 1_100_000, 700_000));
        vm.expectRevert(abi.encodeWithSelector(Errors.UpdateNotReady.selector, id, uint40(block.timestamp) + DELAY));
        steward.execute(id);
        vm.warp(block.timestamp + DELAY);
        vm.expectEmit(true, true, true, true, address(steward));
        emit Events.UpdateExecuted(id, asset, stranger);
        vm.prank(stranger);
        steward.execute(id);
        (uint256 ltv, uint256 lt, uint256 bonus, uint256 supplyCap, uint256 borrowCap) = aave.reserves(asset);
        assertEq(ltv, 7_990);
        assertEq(lt, 8_490);
        assertEq(bonus, 10_500);
        assertEq(supplyCap, 1_100_000);
        assertEq(borrowCap, 700_000);
        assertEq(steward.lastUpdated(asset, LTV), block.timestamp);
        assertEq(steward.lastUpdated(asset, SUPPLY), block.timestamp);
        assertEq(steward.lastUpdated(asset, BONUS), 0, "unchanged bonus keeps its clock");
        assertEq(uint8(steward.queuedUpdate(id).status), uint8(IAaveRiskSteward.Status.Executed));
    }

    function test_execute_revertsForUnknownAndDone() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.UnknownUpdate.selector, 7));
        steward.execute(7);
        uint256 id = _queueAndExecute(_update(7_990, 8_490, 10_500, KEEP, KEEP));
        vm.expectRevert(abi.encodeWithSelector(Errors.UpdateNotPending.selector, id));
        steward.execute(id);
    }

    function test_execute_onlyNewest() public {
        uint256 first = _queue(_update(7_990, 8_490, 10_500, KEEP, KEEP));
        uint256 second = _queue(_update(7_980, 8_480, 10_500, KEEP, KEEP));
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(Errors.UpdateSuperseded.selector, first, second));
        steward.execute(first);
        steward.execute(second);
    }

    function test_execute_revertsWhenExpired() public {
        IAaveRiskSteward.ParamUpdate memory u = _update(7_990, 8_490, 10_500, KEEP, KEEP);
        u.validUntil = uint40(block.timestamp + DELAY);
        uint256 id = _queue(u);
        vm.warp(block.timestamp + DELAY + 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.UpdateExpired.selector, u.validUntil, block.timestamp));
        steward.execute(id);
    }

    function test_execute_revertsWhenPausedOrRestricted() public {
        uint256 id = _queue(_update(7_990, 8_490, 10_500, KEEP, KEEP));
        vm.warp(block.timestamp + DELAY);
        vm.prank(guardian);
        steward.pause();
        vm.expectRevert(Errors.StewardPaused.selector);
        steward.execute(id);
        vm.prank(guardian);
        steward.unpause();
        vm.prank(owner);
        steward.setAssetRestricted(asset, true);
        vm.expectRevert(abi.encodeWithSelector(Errors.AssetRestricted.selector, asset));
        steward.execute(id);
        vm.prank(owner);
        steward.setAssetRestricted(asset, false);
        steward.execute(id);
    }

    /// @notice Bounds are re-checked against Aave's value at execution: a governance change in between
    ///         can turn a queued move into an out-of-bound one.
    function test_execute_rechecksBoundsAgainstAaveNow() public {
        uint256 id = _queue(_update(7_960, 8_460, 10_500, KEEP, KEEP));
        aave.listReserve(asset, MockAaveMarket.Reserve(8_050, 8_500, 10_500, 1_000_000, 800_000));
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(Errors.BoundExceeded.selector, LTV, 8_050, 7_960));
        steward.execute(id);
    }

    function test_execute_passesAaveRevertsThrough() public {
        // percentMul(9_550, 10_500) = 10_028 > 10_000: Aave's INVALID_RESERVE_PARAMS ("20").
        aave.listReserve(asset, MockAaveMarket.Reserve(9_000, 9_500, 10_500, 1_000_000, 800_000));
        uint256 id = _queue(_update(9_000, 9_550, 10_500, KEEP, KEEP));
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(bytes("20"));
        steward.execute(id);
    }

    /* ------------------------------------- disable ------------------------------------- */

    function test_disable_guardianVetoesOneUpdate() public {
        uint256 id = _queue(_update(7_990, 8_490, 10_500, KEEP, KEEP));
        vm.prank(stranger);
        vm.expectRevert(Errors.NotGuardian.selector);
        steward.disable(id);
        vm.expectEmit(true, true, true, true, address(steward));
        emit Events.UpdateDisabled(id, asset, guardian);
        vm.prank(guardian);
        steward.disable(id);
        vm.warp(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(Errors.UpdateNotPending.selector, id));
        steward.execute(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Errors.UpdateNotPending.selector, id));
        steward.disable(id);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(Errors.UnknownUpdate.selector, 99));
        steward.disable(99);
        // A later update of the same asset still goes through.
        uint256 next = _queueAndExecute(_update(7_990, 8_490, 10_500, KEEP, KEEP));
        assertEq(uint8(steward.queuedUpdate(next).status), uint8(IAaveRiskSteward.Status.Executed));
    }

    /* ---------------------------------------- gas ---------------------------------------- */

    function test_gas_queue() public {
        _queue(_update(7_990, 8_490, 10_500, 1_100_000, 700_000));
    }

    function test_gas_executeCollateralAndCaps() public {
        uint256 id = _queue(_update(7_990, 8_490, 10_500, 1_100_000, 700_000));
        vm.warp(block.timestamp + DELAY);
        steward.execute(id);
    }

    function test_gas_disable() public {
        uint256 id = _queue(_update(7_990, 8_490, 10_500, KEEP, KEEP));
        vm.prank(guardian);
        steward.disable(id);
    }

    function test_gas_pause() public {
        vm.prank(guardian);
        steward.pause();
    }

    function test_gas_unpause() public {
        vm.prank(guardian);
        steward.pause();
        vm.prank(guardian);
        steward.unpause();
        assertFalse(steward.paused(), "unpaused");
    }

    function test_gas_setGuardian() public {
        address next = makeAddr("next guardian");
        vm.prank(owner);
        steward.setGuardian(next);
        assertEq(steward.guardian(), next, "guardian replaced");
    }

    function test_gas_setAssetRestricted() public {
        vm.prank(owner);
        steward.setAssetRestricted(asset, true);
        assertTrue(steward.isRestricted(asset), "restricted");
    }

    function test_gas_setRiskOracle() public {
        AaveRiskSteward fresh = new AaveRiskSteward(address(aave), address(aave), owner, guardian, DELAY, aaveBounds());
        vm.prank(owner);
        fresh.setRiskOracle(oracle);
        assertEq(fresh.riskOracle(), oracle, "oracle named");
    }

    /* --------------------------------------- fuzz --------------------------------------- */

    /// @notice Any move within every bound applies exactly, and LTV stays below LT.
    function testFuzz_withinBounds_applies(uint256 dLtv, uint256 dLt, uint256 dBonus, uint256 supply, uint256 borrow)
        public
    {
        uint16 ltv = uint16(bound(dLtv, 7_950, 8_050));
        uint16 lt = uint16(bound(dLt, 8_450, 8_550));
        uint16 bonus = uint16(bound(dBonus, 10_450, 10_550));
        uint64 supplyCap = uint64(bound(supply, 700_000, 1_300_000));
        uint64 borrowCap = uint64(bound(borrow, 560_000, 1_040_000));
        vm.assume(ltv < lt);
        _queueAndExecute(_update(ltv, lt, bonus, supplyCap, borrowCap));
        (uint256 a, uint256 b, uint256 c, uint256 s, uint256 d) = aave.reserves(asset);
        assertEq(a, ltv);
        assertEq(b, lt);
        assertEq(c, bonus);
        assertEq(s, supplyCap);
        assertEq(d, borrowCap);
    }

    /// @notice A move past the bound of the LTV in either direction reverts with `BoundExceeded`.
    function testFuzz_ltvBeyondBound_reverts(uint256 proposed) public {
        proposed = bound(proposed, 1, 8_499);
        vm.assume(proposed < 7_950 || proposed > 8_050);
        // Casting is safe: `proposed` was bounded below 8_500.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint16 ltv = uint16(proposed);
        _expectQueueRevert(
            _update(ltv, 8_500, 10_500, KEEP, KEEP),
            abi.encodeWithSelector(Errors.BoundExceeded.selector, LTV, 8_000, proposed)
        );
    }

    /// @notice The relative cap bound: the largest allowed increase is floor(cap * 30 %).
    function testFuzz_capRelativeBound(uint256 current, uint256 proposed) public {
        // Aave's caps are 36-bit fields (at most 68,719,476,735 tokens).
        current = bound(current, 1, 5e10);
        proposed = bound(proposed, 1, 68_719_476_735);
        aave.listReserve(asset, MockAaveMarket.Reserve(8_000, 8_500, 10_500, current, 800_000));
        uint256 delta = proposed > current ? proposed - current : current - proposed;
        // Casting is safe: `proposed` was bounded below 2^36.
        // forge-lint: disable-next-line(unsafe-typecast)
        IAaveRiskSteward.ParamUpdate memory u = _update(8_000, 8_500, 10_500, uint64(proposed), KEEP);
        if (delta > current * 3_000 / 10_000) {
            _expectQueueRevert(u, abi.encodeWithSelector(Errors.BoundExceeded.selector, SUPPLY, current, proposed));
        } else {
            _queueAndExecute(u);
            (,,, uint256 s,) = aave.reserves(asset);
            assertEq(s, proposed);
        }
    }
}
