// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "../utils/Test.sol";
import {MockAaveMarket} from "../utils/MockAave.sol";
import {Bounds} from "../Base.t.sol";
import {ExpectedReverts} from "./ExpectedReverts.sol";

import {AaveRiskSteward} from "../../src/AaveRiskSteward.sol";
import {IAaveRiskSteward} from "../../src/interfaces/IAaveRiskSteward.sol";
import {Errors} from "../../src/libraries/Errors.sol";

/// @notice Drives the steward as its RiskOracle, its guardian and anyone would: random proposals (within
///         and beyond the bounds), executions at random times, vetoes, pauses. A call the steward may
///         reject is caught and its error checked against the ones that call may raise; any other revert
///         (a panic, an unexpected error) escapes, and `fail_on_revert` fails the run.
contract StewardHandler is Test, ExpectedReverts {
    uint64 internal constant KEEP = type(uint64).max;

    AaveRiskSteward public immutable steward;
    MockAaveMarket public immutable aave;
    address public immutable guardian;
    address[2] public assets;

    uint256 public queued;
    uint256 public executed;

    constructor(AaveRiskSteward steward_, MockAaveMarket aave_, address guardian_, address[2] memory assets_) {
        steward = steward_;
        aave = aave_;
        guardian = guardian_;
        assets = assets_;
    }

    /// @dev Proposes values around Aave's current ones, up to twice the bound away, sometimes invalid.
    function queue(uint256 assetSeed, int256 dLtv, int256 dLt, int256 dBonus, int256 dSupply, int256 dBorrow) external {
        address asset = assets[assetSeed % 2];
        (uint256 ltv, uint256 lt, uint256 bonus, uint256 supplyCap, uint256 borrowCap) = aave.reserves(asset);
        // Casting is safe: the values stay far below 2^16 (bps) and 2^64 (caps); the timestamp below 2^40.
        // forge-lint: disable-start(unsafe-typecast)
        IAaveRiskSteward.ParamUpdate memory u = IAaveRiskSteward.ParamUpdate({
            asset: asset,
            ltv: uint16(_around(ltv, dLtv, 100)),
            liquidationThreshold: uint16(_around(lt, dLt, 100)),
            liquidationBonus: uint16(_around(bonus, dBonus, 100)),
            supplyCap: dSupply % 5 == 0 ? KEEP : uint64(_around(supplyCap, dSupply, supplyCap * 6_000 / 10_000)),
            borrowCap: dBorrow % 5 == 0 ? KEEP : uint64(_around(borrowCap, dBorrow, borrowCap * 6_000 / 10_000)),
            validUntil: uint40(block.timestamp + (uint256(dLtv) % 3 days))
        });
        // forge-lint: disable-end(unsafe-typecast)
        try steward.queue(u) {
            ++queued;
        } catch (bytes memory reason) {
            _expectOneOf(
                reason,
                _errors(
                    Errors.StewardPaused.selector,
                    Errors.UpdateExpired.selector,
                    Errors.LtvNotBelowLt.selector,
                    Errors.BoundExceeded.selector,
                    Errors.DelayNotElapsed.selector
                )
            );
        }
    }

    function execute(uint256 assetSeed, uint256 wait) external {
        vm.warp(block.timestamp + bound(wait, 0, 4 days));
        uint256 id = steward.latestUpdateId(assets[assetSeed % 2]);
        try steward.execute(id) {
            ++executed;
        } catch (bytes memory reason) {
            _expectOneOf(
                reason,
                _errors(
                    Errors.UnknownUpdate.selector,
                    Errors.UpdateNotPending.selector,
                    Errors.UpdateNotReady.selector,
                    Errors.StewardPaused.selector,
                    Errors.UpdateExpired.selector
                )
            );
        }
    }

    function disable(uint256 assetSeed) external {
        uint256 id = steward.latestUpdateId(assets[assetSeed % 2]);
        vm.prank(guardian);
        try steward.disable(id) {}
        catch (bytes memory reason) {
            _expectOneOf(reason, _errors(Errors.UnknownUpdate.selector, Errors.UpdateNotPending.selector));
        }
    }

    function setPaused(bool paused) external {
        vm.prank(guardian);
        if (paused) steward.pause();
        else steward.unpause();
    }

    function warp(uint256 by) external {
        vm.warp(block.timestamp + bound(by, 1, 2 days));
    }

    /// @dev `value + d` with |d| <= span, floored at 1 (0 would only test the zero check) and capped at 2^16 - 1
    ///      for bps values.
    function _around(uint256 value, int256 d, uint256 span) internal pure returns (uint256) {
        uint256 magnitude = span == 0 ? 0 : uint256(d < 0 ? -(d + 1) : d) % (span + 1);
        uint256 v = d < 0 ? (magnitude >= value ? 1 : value - magnitude) : value + magnitude;
        return v;
    }
}

/// @notice Invariants of the steward over random sequences of proposals, executions, vetoes and pauses,
///         checked against the mock Aave market's full history of applied changes.
contract StewardInvariantTest is Test, Bounds {
    MockAaveMarket internal aave;
    AaveRiskSteward internal steward;
    StewardHandler internal handler;
    address[2] internal assets;

    function setUp() public {
        vm.warp(1_700_000_000);
        address owner = makeAddr("owner");
        address guardian = makeAddr("guardian");
        assets = [makeAddr("WETH"), makeAddr("WBTC")];
        aave = new MockAaveMarket();
        aave.listReserve(assets[0], MockAaveMarket.Reserve(8_000, 8_500, 10_500, 1_000_000, 800_000));
        aave.listReserve(assets[1], MockAaveMarket.Reserve(7_300, 7_800, 10_500, 43_000, 28_000));
        steward = new AaveRiskSteward(address(aave), address(aave), owner, guardian, 1 hours, aaveBounds());
        aave.setRiskAdmin(address(steward));
        aave.setRecording(true);
        handler = new StewardHandler(steward, aave, guardian, assets);
        vm.prank(owner);
        steward.setRiskOracle(address(handler));
        targetContract(address(handler));
    }

    /// @notice The handler's rejections are real and counted by error (so the invariants are not vacuous):
    ///         an LTV raise of 100 bps, twice the bound, is refused with `BoundExceeded`.
    function test_handler_countsTheStewardsRejections() public {
        handler.queue(0, 100, 0, 0, 0, 0);
        assertEq(handler.queued(), 0, "nothing queued");
        assertEq(handler.rejections(Errors.BoundExceeded.selector), 1, "refused past its bound");
        handler.queue(0, 10, 10, 0, 0, 0);
        assertEq(handler.queued(), 1, "a move within the bound is queued");
    }

    /// @notice LTV < LT for every reserve, always.
    function invariant_ltvBelowLt() public view {
        for (uint256 i; i < 2; ++i) {
            (uint256 ltv, uint256 lt,,,) = aave.reserves(assets[i]);
            assertLt(ltv, lt, "ltv < lt");
        }
    }

    /// @notice Every applied change is within its bound, and no parameter of a reserve changes twice
    ///         within its minimum delay.
    function invariant_noParameterMovesPastItsBound() public view {
        uint256 n = aave.changeCount();
        for (uint256 i; i < n; ++i) {
            MockAaveMarket.Change memory c = aave.change(i);
            IAaveRiskSteward.Bound memory b = steward.bound(c.param);
            bool up = c.newValue > c.oldValue;
            uint256 delta = up ? c.newValue - c.oldValue : c.oldValue - c.newValue;
            uint256 limit = up ? b.maxIncrease : b.maxDecrease;
            if (c.param >= 3) limit = c.oldValue * limit / 10_000;
            assertLe(delta, limit, "change within bound");
            assertTrue(c.newValue != 0, "no zero value");
            for (uint256 j = i + 1; j < n; ++j) {
                MockAaveMarket.Change memory later = aave.change(j);
                if (later.asset == c.asset && later.param == c.param) {
                    assertGe(later.timestamp - c.timestamp, b.minDelay, "one change per window");
                    break;
                }
            }
        }
    }

    /// @notice Nothing executes that was not queued, and nothing reaches Aave but through `execute`.
    function invariant_executionsFollowQueue() public view {
        assertLe(handler.executed(), handler.queued(), "executed <= queued");
        assertLe(aave.changeCount(), 5 * handler.executed(), "at most five changes per execution");
    }
}
