// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPool} from "@aave/core-v3/contracts/interfaces/IPool.sol";

import {Test} from "../utils/Test.sol";
import {MockAavePool, MockRiskOracle} from "../utils/MockAave.sol";

import {IRiskOracle} from "../../src/interfaces/IRiskOracle.sol";
import {TestERC20} from "../../src/mocks/TestERC20.sol";
import {RiskCappedVault} from "../../src/RiskCappedVault.sol";

/// @notice Deposits, withdrawals and redemptions by three actors, yield, borrowed-out cash, feed moves (synced
///         or not), cap syncs, accepted raises and pools that refuse supplies, against two mock Aave pools
///         (1:1 aTokens). Amounts are bounded by what
///         the vault allows (`maxWithdraw`, `maxRedeem`), so every call must succeed.
contract VaultHandler is Test {
    RiskCappedVault public immutable vault;
    TestERC20 public immutable token;
    MockRiskOracle public immutable feed;
    MockAavePool[2] public pools;
    address[2] public feeds;
    address[3] public actors;

    uint256 public deposited;
    uint256 public withdrawn;
    uint256 public yielded;
    /// @notice Cash borrowers took out of each pool and have not paid back.
    uint256[2] public borrowed;
    /// @notice Set if an immediate deposit-redeem ever returned more than went in.
    bool public valueFromNothing;
    /// @notice Set if a deposit ever pushed a market above both its cap and its previous balance.
    bool public capBreached;

    constructor(
        RiskCappedVault vault_,
        TestERC20 token_,
        MockRiskOracle feed_,
        MockAavePool[2] memory pools_,
        address[2] memory feeds_
    ) {
        vault = vault_;
        token = token_;
        feed = feed_;
        pools = pools_;
        feeds = feeds_;
        actors = [makeAddr("actor 0"), makeAddr("actor 1"), makeAddr("actor 2")];
        for (uint256 i; i < 3; ++i) {
            vm.prank(actors[i]);
            token.approve(address(vault_), type(uint256).max);
        }
        token.approve(address(pools_[0]), type(uint256).max);
        token.approve(address(pools_[1]), type(uint256).max);
    }

    function deposit(uint256 actorSeed, uint256 assets) external {
        address actor = actors[actorSeed % 3];
        assets = bound(assets, 1, 1e12);
        token.mint(actor, assets);
        uint256[2] memory before = [_held(0), _held(1)];
        vm.prank(actor);
        vault.deposit(assets, actor);
        deposited += assets;
        _checkCaps(before);
    }

    function depositAndRedeem(uint256 actorSeed, uint256 assets) external {
        address actor = actors[actorSeed % 3];
        assets = bound(assets, 1, 1e12);
        token.mint(actor, assets);
        uint256[2] memory before = [_held(0), _held(1)];
        vm.prank(actor);
        uint256 shares = vault.deposit(assets, actor);
        deposited += assets;
        _checkCaps(before);
        shares = shares < vault.maxRedeem(actor) ? shares : vault.maxRedeem(actor);
        if (shares == 0) return;
        vm.prank(actor);
        uint256 out = vault.redeem(shares, actor, actor);
        withdrawn += out;
        if (out > assets) valueFromNothing = true;
    }

    function withdraw(uint256 actorSeed, uint256 assets) external {
        address actor = actors[actorSeed % 3];
        uint256 max = vault.maxWithdraw(actor);
        if (max == 0) return;
        assets = bound(assets, 1, max);
        vm.prank(actor);
        vault.withdraw(assets, actor, actor);
        withdrawn += assets;
    }

    function redeem(uint256 actorSeed, uint256 shares) external {
        address actor = actors[actorSeed % 3];
        uint256 max = vault.maxRedeem(actor);
        if (max == 0) return;
        shares = bound(shares, 1, max);
        vm.prank(actor);
        withdrawn += vault.redeem(shares, actor, actor);
    }

    function accrue(uint256 marketSeed, uint256 amount) external {
        MockAavePool pool = pools[marketSeed % 2];
        if (pool.aToken().balanceOf(address(vault)) == 0) return;
        amount = bound(amount, 1, 1e9);
        token.mint(address(this), amount);
        pool.accrue(address(vault), amount);
        yielded += amount;
    }

    /// @notice A borrower takes part of a pool's cash, which limits what the vault can withdraw there.
    function borrow(uint256 marketSeed, uint256 amount) external {
        MockAavePool pool = pools[marketSeed % 2];
        uint256 cash = token.balanceOf(address(pool.aToken()));
        if (cash == 0) return;
        amount = bound(amount, 1, cash);
        pool.lend(address(this), amount);
        borrowed[marketSeed % 2] += amount;
    }

    /// @notice A borrower pays back part of what it took.
    function repay(uint256 marketSeed, uint256 amount) external {
        uint256 i = marketSeed % 2;
        if (borrowed[i] == 0) return;
        amount = bound(amount, 1, borrowed[i]);
        pools[i].repay(amount);
        borrowed[i] -= amount;
    }

    /// @notice The feed moves; the stored cap is synced only when `sync` is set, so deposits also run
    ///         against a feed the vault has not synced.
    function setRisk(uint256 marketSeed, uint16 riskBps, bool sync) external {
        uint256 i = marketSeed % 2;
        // Casting is safe: bounded to 10_000; test timestamps are far below 2^64.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint16 risk = uint16(bound(riskBps, 0, 10_000));
        // forge-lint: disable-next-line(unsafe-typecast)
        feed.setRisk(feeds[i], uint64(block.timestamp), risk);
        if (sync) vault.syncCap(i);
    }

    /// @notice A pool starts or stops refusing supplies (its Aave supply cap reached, or paused).
    function setRefusing(uint256 marketSeed, bool on) external {
        pools[marketSeed % 2].setRefusing(on);
    }

    function acceptCap(uint256 marketSeed, uint256 wait) external {
        uint256 i = marketSeed % 2;
        vm.warp(block.timestamp + bound(wait, 0, 2 days));
        RiskCappedVault.Market memory m = vault.market(i);
        if (m.pendingValidAt == 0 || block.timestamp < m.pendingValidAt) return;
        vault.acceptCap(i);
    }

    function _held(uint256 i) internal view returns (uint256) {
        return pools[i].aToken().balanceOf(address(vault));
    }

    function _checkCaps(uint256[2] memory before) internal {
        for (uint256 i; i < 2; ++i) {
            uint256 cap = vault.allocationCap(i);
            uint256 held = _held(i);
            if (held > cap && held > before[i]) capBreached = true;
        }
    }
}

/// @notice Accounting invariants of the vault over random sequences of user and feed actions.
contract VaultInvariantTest is Test {
    TestERC20 internal token;
    MockRiskOracle internal feed;
    MockAavePool[2] internal pools;
    RiskCappedVault internal vault;
    VaultHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        address owner = makeAddr("owner");
        token = new TestERC20("USD Coin (test)", "USDC", 6);
        feed = new MockRiskOracle();
        pools = [new MockAavePool(IERC20(address(token))), new MockAavePool(IERC20(address(token)))];
        address[2] memory feeds = [makeAddr("feed 0"), makeAddr("feed 1")];
        feed.setRisk(feeds[0], 1, 500);
        feed.setRisk(feeds[1], 1, 0);
        vault = new RiskCappedVault(
            IERC20(address(token)), "zkrisk USDC", "zrUSDC", IRiskOracle(address(feed)), owner, 1 days
        );
        vm.startPrank(owner);
        vault.addMarket(IPool(address(pools[0])), feeds[0], 5e11);
        vault.addMarket(IPool(address(pools[1])), feeds[1], 2e11);
        vm.stopPrank();
        vm.warp(block.timestamp + 1 days);
        vault.acceptCap(0);
        vault.acceptCap(1);
        handler = new VaultHandler(vault, token, feed, pools, feeds);
        targetContract(address(handler));
    }

    /// @notice totalAssets is exactly the idle cash plus the aTokens held, counted independently.
    function invariant_totalAssetsIsIdlePlusATokens() public view {
        uint256 sum = token.balanceOf(address(vault));
        for (uint256 i; i < 2; ++i) {
            sum += pools[i].aToken().balanceOf(address(vault));
        }
        assertEq(vault.totalAssets(), sum, "totalAssets == idle + aTokens");
    }

    /// @notice With 1:1 aTokens, what the vault holds is exactly what came in, plus yield, minus what left.
    function invariant_conservation() public view {
        assertEq(vault.totalAssets(), handler.deposited() + handler.yielded() - handler.withdrawn(), "in + yield - out");
    }

    /// @notice Shares never mint value from nothing: all shares together claim at most what the vault
    ///         holds, and no deposit-then-redeem returned more than it put in.
    function invariant_sharesNeverMintValue() public view {
        assertLe(vault.convertToAssets(vault.totalSupply()), vault.totalAssets(), "shares <= assets");
        assertFalse(handler.valueFromNothing(), "a round trip made a profit");
    }

    /// @notice Deposits never push a market above its allocation cap (the lower of the stored cap and the
    ///         feed's cap at the time).
    function invariant_depositsRespectCaps() public view {
        assertFalse(handler.capBreached(), "a deposit breached a cap");
    }
}
