// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPool} from "@aave/core-v3/contracts/interfaces/IPool.sol";

import {Test} from "./utils/Test.sol";
import {MockAavePool, MockRiskOracle} from "./utils/MockAave.sol";

import {IRiskOracle} from "../src/interfaces/IRiskOracle.sol";
import {Errors} from "../src/libraries/Errors.sol";
import {Events} from "../src/libraries/Events.sol";
import {TestERC20} from "../src/mocks/TestERC20.sol";
import {RiskCappedVault} from "../src/RiskCappedVault.sol";

/// @dev Exposes the internal payout so its defensive `InsufficientLiquidity` path can be reached.
contract VaultHarness is RiskCappedVault {
    constructor(IERC20 asset_, IRiskOracle oracle_, address owner_, uint64 timelock_)
        RiskCappedVault(asset_, "zkrisk USDC", "zrUSDC", oracle_, owner_, timelock_)
    {}

    function transferOut(address to, uint256 assets) external {
        _transferOut(to, assets);
    }
}

/// @notice The vault's accounting and cap rules against mock Aave pools (1:1 aTokens; they isolate the
///         vault's arithmetic from Aave's index math) and a mock feed. `oracle/tests/it/vault.rs` runs the
///         vault against the real Aave v3 market.
contract RiskCappedVaultTest is Test {
    uint64 internal constant TIMELOCK = 1 days;
    uint256 internal constant ONE = 1e6;
    uint256 internal constant T0 = 1_700_000_000;

    address internal immutable owner = makeAddr("owner");
    address internal immutable alice = makeAddr("alice");
    address internal immutable bob = makeAddr("bob");
    address internal immutable stranger = makeAddr("stranger");
    address internal immutable feedA = makeAddr("feed A");
    address internal immutable feedB = makeAddr("feed B");

    TestERC20 internal usdc;
    MockRiskOracle internal feed;
    MockAavePool internal poolA;
    MockAavePool internal poolB;
    VaultHarness internal vault;

    function setUp() public {
        vm.warp(T0);
        usdc = new TestERC20("USD Coin (test)", "USDC", 6);
        feed = new MockRiskOracle();
        poolA = new MockAavePool(IERC20(address(usdc)));
        poolB = new MockAavePool(IERC20(address(usdc)));
        vault = new VaultHarness(IERC20(address(usdc)), IRiskOracle(address(feed)), owner, TIMELOCK);
        // Feed A: 10 % risk; feed B: no risk.
        feed.setRisk(feedA, 1, 1_000);
        feed.setRisk(feedB, 1, 0);
        vm.startPrank(owner);
        vault.addMarket(IPool(address(poolA)), feedA, 1_000 * ONE);
        vault.addMarket(IPool(address(poolB)), feedB, 500 * ONE);
        vm.stopPrank();
        vm.warp(T0 + TIMELOCK);
        vault.acceptCap(0);
        vault.acceptCap(1);
        for (uint256 i; i < 3; ++i) {
            address user = [alice, bob, stranger][i];
            usdc.mint(user, 1e9 * ONE);
            vm.prank(user);
            usdc.approve(address(vault), type(uint256).max);
        }
    }

    /* ------------------------------------- helpers ------------------------------------- */

    function _deposit(address user, uint256 assets) internal returns (uint256 shares) {
        vm.prank(user);
        shares = vault.deposit(assets, user);
    }

    function _aBalance(MockAavePool pool) internal view returns (uint256) {
        return pool.aToken().balanceOf(address(vault));
    }

    function _idle() internal view returns (uint256) {
        return usdc.balanceOf(address(vault));
    }

    /* ------------------------------------ listing ------------------------------------ */

    function test_constructor_rejectsZeroAddresses() public {
        vm.expectRevert(Errors.ZeroAddress.selector);
        new VaultHarness(IERC20(address(0)), IRiskOracle(address(feed)), owner, TIMELOCK);
        vm.expectRevert(Errors.ZeroAddress.selector);
        new VaultHarness(IERC20(address(usdc)), IRiskOracle(address(0)), owner, TIMELOCK);
    }

    function test_setUp_capsFollowTheFeed() public view {
        assertEq(vault.marketCount(), 2);
        assertEq(vault.market(0).cap, 900 * ONE, "1,000 x (1 - 10 %)");
        assertEq(vault.market(1).cap, 500 * ONE, "no risk: the whole max cap");
        assertEq(address(vault.market(0).aToken), address(poolA.aToken()));
        assertEq(vault.decimals(), 12, "6 + the decimals offset");
    }

    function test_addMarket_checks() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.addMarket(IPool(address(poolA)), feedA, 1);

        vm.startPrank(owner);
        vm.expectRevert(Errors.ZeroAddress.selector);
        vault.addMarket(IPool(address(0)), feedA, 1);
        vm.expectRevert(Errors.ZeroAddress.selector);
        vault.addMarket(IPool(address(poolA)), address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(Errors.MarketAlreadyListed.selector, address(poolA)));
        vault.addMarket(IPool(address(poolA)), feedA, 1);
        MockAavePool otherAsset = new MockAavePool(IERC20(address(new TestERC20("x", "X", 18))));
        vm.expectRevert(abi.encodeWithSelector(Errors.ReserveNotListed.selector, address(otherAsset), address(usdc)));
        vault.addMarket(IPool(address(otherAsset)), feedA, 1);
        for (uint256 i = 2; i < vault.MAX_MARKETS(); ++i) {
            vault.addMarket(IPool(address(new MockAavePool(IERC20(address(usdc))))), feedA, 1);
        }
        MockAavePool ninth = new MockAavePool(IERC20(address(usdc)));
        vm.expectRevert(Errors.TooManyMarkets.selector);
        vault.addMarket(IPool(address(ninth)), feedA, 1);
        vm.stopPrank();
    }

    function test_newMarket_startsAtZeroAndWaits() public {
        MockAavePool poolC = new MockAavePool(IERC20(address(usdc)));
        vm.expectEmit(true, true, true, true, address(vault));
        emit Events.CapRaisePending(2, 100 * ONE, uint64(block.timestamp) + TIMELOCK);
        vm.prank(owner);
        uint256 index = vault.addMarket(IPool(address(poolC)), feedB, 100 * ONE);
        assertEq(vault.market(index).cap, 0, "no allocation before the timelock");
        assertEq(vault.market(index).pendingCap, 100 * ONE);
    }

    /* --------------------------------------- caps --------------------------------------- */

    function test_unknownMarket_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.UnknownMarket.selector, 2));
        vault.syncCap(2);
        vm.expectRevert(abi.encodeWithSelector(Errors.UnknownMarket.selector, 5));
        vault.acceptCap(5);
        vm.expectRevert(abi.encodeWithSelector(Errors.UnknownMarket.selector, 9));
        vault.feedCap(9);
    }

    function test_feedCap_zeroWithoutFeed() public {
        MockAavePool poolC = new MockAavePool(IERC20(address(usdc)));
        vm.prank(owner);
        uint256 index = vault.addMarket(IPool(address(poolC)), makeAddr("silent feed"), 100 * ONE);
        assertEq(vault.feedCap(index), 0);
        assertEq(vault.market(index).pendingValidAt, 0, "nothing pending");
    }

    function test_capCut_appliesAtOnce() public {
        feed.setRisk(feedA, 2, 5_000);
        vm.expectEmit(true, true, true, true, address(vault));
        emit Events.CapSet(0, 500 * ONE);
        vm.prank(stranger);
        vault.syncCap(0);
        assertEq(vault.market(0).cap, 500 * ONE);
    }

    function test_capRaise_waitsForTheTimelock() public {
        feed.setRisk(feedA, 2, 0);
        vault.syncCap(0);
        assertEq(vault.market(0).cap, 900 * ONE, "unchanged until accepted");
        uint64 validAt = uint64(block.timestamp) + TIMELOCK;
        assertEq(vault.market(0).pendingCap, 1_000 * ONE);
        vm.expectRevert(abi.encodeWithSelector(Errors.CapTimelockNotElapsed.selector, 0, validAt));
        vault.acceptCap(0);
        vm.warp(validAt);
        vault.acceptCap(0);
        assertEq(vault.market(0).cap, 1_000 * ONE);
        vm.expectRevert(abi.encodeWithSelector(Errors.NoPendingCap.selector, 0));
        vault.acceptCap(0);
    }

    /// @notice A raise accepted after the feed fell back applies only the feed's value now.
    function test_capRaise_acceptedAtMostTheFeedNow() public {
        feed.setRisk(feedA, 2, 0);
        vault.syncCap(0);
        vm.warp(block.timestamp + TIMELOCK);
        feed.setRisk(feedA, 3, 500);
        vault.acceptCap(0);
        assertEq(vault.market(0).cap, 950 * ONE);
    }

    /// @notice A cut while a raise is pending applies at once and clears the raise.
    function test_capCut_clearsPendingRaise() public {
        feed.setRisk(feedA, 2, 0);
        vault.syncCap(0);
        feed.setRisk(feedA, 3, 2_000);
        vault.syncCap(0);
        assertEq(vault.market(0).cap, 800 * ONE);
        assertEq(vault.market(0).pendingValidAt, 0);
    }

    function test_setMaxCap_cutAtOnceRaiseWaits() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.setMaxCap(0, 1);
        vm.prank(owner);
        vault.setMaxCap(0, 100 * ONE);
        assertEq(vault.market(0).cap, 90 * ONE, "cut at once");
        vm.prank(owner);
        vault.setMaxCap(0, 10_000 * ONE);
        assertEq(vault.market(0).cap, 90 * ONE, "raise waits");
        assertEq(vault.market(0).pendingCap, 9_000 * ONE);
    }

    /* ------------------------------------ accounting ------------------------------------ */

    function test_deposit_fillsMarketsInOrderUpToCaps() public {
        _deposit(alice, 1_000 * ONE);
        assertEq(_aBalance(poolA), 900 * ONE, "market 0 to its cap");
        assertEq(_aBalance(poolB), 100 * ONE, "the rest to market 1");
        _deposit(bob, 1_000 * ONE);
        assertEq(_aBalance(poolB), 500 * ONE, "market 1 to its cap");
        assertEq(_idle(), 600 * ONE, "the rest idle");
        assertEq(vault.totalAssets(), 2_000 * ONE);
    }

    /// @notice After a cut below what the vault holds, new deposits skip the market and nothing is pulled out.
    function test_capCut_stopsNewDepositsWithoutForcedExit() public {
        _deposit(alice, 900 * ONE);
        feed.setRisk(feedA, 2, 9_000);
        vault.syncCap(0);
        assertEq(vault.market(0).cap, 100 * ONE);
        assertEq(_aBalance(poolA), 900 * ONE, "no forced exit");
        _deposit(bob, 300 * ONE);
        assertEq(_aBalance(poolA), 900 * ONE, "no new deposits above the cap");
        assertEq(_aBalance(poolB), 300 * ONE);
    }

    /// @notice A cut in the feed limits deposits at once, before anyone syncs the stored cap.
    function test_capCut_limitsDepositsBeforeAnySync() public {
        feed.setRisk(feedA, 2, 9_000);
        assertEq(vault.market(0).cap, 900 * ONE, "stored cap not yet synced");
        assertEq(vault.allocationCap(0), 100 * ONE, "the feed's cut applies");
        _deposit(alice, 300 * ONE);
        assertEq(_aBalance(poolA), 100 * ONE, "market 0 only to the feed's cap");
        assertEq(_aBalance(poolB), 200 * ONE, "the rest to market 1");
    }

    /// @notice A market that refuses a supply (Aave's supply cap reached, reserve paused or frozen) is
    ///         skipped: the deposit goes to the next market or stays idle, and does not revert.
    function test_deposit_skipsAMarketThatRefusesSupply() public {
        poolA.setRefusing(true);
        _deposit(alice, 1_000 * ONE);
        assertEq(_aBalance(poolA), 0, "market 0 refused");
        assertEq(_aBalance(poolB), 500 * ONE, "market 1 to its cap");
        assertEq(_idle(), 500 * ONE, "the rest idle");
        assertEq(usdc.allowance(address(vault), address(poolA)), 0, "no allowance left to the refusing pool");
        assertEq(vault.totalAssets(), 1_000 * ONE);
    }

    function test_withdraw_idleFirstThenMarketsExactly() public {
        _deposit(alice, 2_000 * ONE);
        uint256 before = usdc.balanceOf(alice);
        vm.prank(alice);
        vault.withdraw(700 * ONE, alice, alice);
        assertEq(usdc.balanceOf(alice) - before, 700 * ONE);
        assertEq(_idle(), 0, "idle first");
        assertEq(_aBalance(poolA), 800 * ONE, "then market 0");
        uint256 shares = vault.balanceOf(alice);
        vm.prank(alice);
        vault.redeem(shares, alice, alice);
        assertEq(usdc.balanceOf(alice), before + 2_000 * ONE, "exactly the deposit back");
        assertEq(vault.totalAssets(), 0);
        assertEq(vault.totalSupply(), 0);
    }

    function test_yield_accruesToShareholders() public {
        _deposit(alice, 1_000 * ONE);
        _deposit(bob, 1_000 * ONE);
        usdc.approve(address(poolA), type(uint256).max);
        usdc.mint(address(this), 200 * ONE);
        poolA.accrue(address(vault), 200 * ONE);
        assertEq(vault.totalAssets(), 2_200 * ONE);
        uint256 shares = vault.balanceOf(alice);
        vm.prank(alice);
        uint256 out = vault.redeem(shares, alice, alice);
        // Virtual shares and assets take a dust share; rounding goes to the vault.
        assertLe(out, 1_100 * ONE, "never more than the fair share");
        assertGe(out, 1_100 * ONE - 1, "at most one unit of rounding");
    }

    function test_liquidity_limitsWithdrawals() public {
        _deposit(alice, 1_400 * ONE);
        poolA.lend(stranger, 850 * ONE); // 50 left in market 0; market 1 holds 500, idle 0.
        assertEq(vault.availableLiquidity(), 550 * ONE);
        assertEq(vault.maxWithdraw(alice), 550 * ONE);
        assertEq(vault.maxRedeem(alice), vault.convertToShares(550 * ONE));
        vm.prank(alice);
        vault.withdraw(550 * ONE, alice, alice);
        assertEq(vault.totalAssets(), 850 * ONE);
    }

    function test_transferOut_revertsOnInsufficientLiquidity() public {
        _deposit(alice, 1_000 * ONE);
        poolA.lend(stranger, 900 * ONE);
        vm.expectRevert(abi.encodeWithSelector(Errors.InsufficientLiquidity.selector, 1_000 * ONE, 100 * ONE));
        vault.transferOut(alice, 1_000 * ONE);
    }

    /// @notice The cap is maxCap x (1 - riskBps), rounded down.
    function test_feedCap_roundsDown() public {
        feed.setRisk(feedA, 9, 3_333);
        assertEq(vault.feedCap(0), 1_000 * ONE * 6_667 / 10_000);
    }

    /* ---------------------------------------- gas ---------------------------------------- */

    function test_gas_depositTwoMarkets() public {
        _deposit(alice, 1_000 * ONE);
    }

    function test_gas_withdrawFromMarkets() public {
        _deposit(alice, 1_400 * ONE);
        vm.prank(alice);
        vault.withdraw(1_000 * ONE, alice, alice);
    }

    /* --------------------------------------- fuzz --------------------------------------- */

    /// @notice Depositing and redeeming at once never returns more than was deposited, and the accounting
    ///         identity holds at every step.
    function testFuzz_roundTrip_neverProfits(uint256 a, uint256 b, uint256 yield_) public {
        a = bound(a, 1, 1e9 * ONE);
        b = bound(b, 1, 1e9 * ONE);
        yield_ = bound(yield_, 0, 1e6 * ONE);
        _deposit(alice, a);
        if (yield_ != 0) {
            usdc.mint(address(this), yield_);
            usdc.approve(address(poolA), yield_);
            poolA.accrue(address(vault), yield_);
        }
        uint256 before = usdc.balanceOf(bob);
        uint256 shares = _deposit(bob, b);
        assertEq(vault.totalAssets(), _idle() + _aBalance(poolA) + _aBalance(poolB), "identity");
        vm.prank(bob);
        uint256 out = vault.redeem(shares, bob, bob);
        assertLe(out, b, "no value from nothing");
        assertEq(usdc.balanceOf(bob), before - b + out);
    }

    /// @notice Deposits never push a market above its cap.
    function testFuzz_deposit_respectsCaps(uint256 amount, uint16 risk) public {
        amount = bound(amount, 1, 1e7 * ONE);
        risk = uint16(bound(risk, 0, 10_000));
        feed.setRisk(feedA, 2, risk);
        vault.syncCap(0);
        _deposit(alice, amount);
        assertLe(_aBalance(poolA), vault.market(0).cap, "market 0 within cap");
        assertLe(_aBalance(poolB), vault.market(1).cap, "market 1 within cap");
        assertEq(vault.totalAssets(), amount);
    }
}
