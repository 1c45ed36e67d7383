// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPool} from "@aave/core-v3/contracts/interfaces/IPool.sol";

import {IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {Errors} from "./libraries/Errors.sol";
import {Events} from "./libraries/Events.sol";
import {ERC4626} from "./vendor/ERC4626.sol";

/// @title RiskCappedVault
/// @notice An ERC-4626 vault that supplies its asset into Aave v3 reserves (one per listed Aave pool)
///         under per-market allocation caps taken from the `RiskOracle`'s feed. A cap cut applies at
///         once, from the moment the feed reports it: new deposits stop going to that market, and nothing is withdrawn from it by force (so no
///         loss-making exit). A cap raise waits `capTimelock` seconds (MetaMorpho's rule), so a feed that
///         turns optimistic cannot move deposits into a market before depositors see it coming.
/// @dev Accounting. `totalAssets()` is the vault's idle balance of the asset plus its aToken balance in
///      every listed market; Aave's aTokens accrue interest in their balance, so yield shows up there.
///      Shares follow OpenZeppelin's ERC-4626 with a decimals offset of 6 (virtual shares and assets):
///      conversions round against the caller, and a first-depositor donation cannot inflate the share
///      price enough to steal.
///
///      The cap of market i, from the feed: `maxCap_i * (10_000 - riskBps) / 10_000`, where `riskBps` is
///      the mean proven liquidation probability of the market's feed (`RiskOracle.riskOf(feedMarket)`)
///      and 0 while the feed has no accepted update. `syncCap` applies a lower value at once and makes a
///      higher one pending; `acceptCap` applies a pending raise after the timelock (at most the feed's
///      value at that moment).
///
///      Deposits fill the markets in listing order, each up to `allocationCap` (the lower of the stored
///      cap and the feed's cap now, so a cut in the feed applies to deposits before any `syncCap`), skip a
///      market whose pool refuses the supply, and leave the rest idle; withdrawals
///      take idle cash first, then the markets in listing order, as far as Aave has liquidity
///      (`maxWithdraw`/`maxRedeem` account for that).
///
///      Roles. The owner (two-step transfer) can: list a market (an Aave pool with a reserve of the
///      asset, at most `MAX_MARKETS`), and set a market's `maxCap` (a cut applies at once, a raise goes
///      through the timelock). It cannot: move deposits, withdraw anyone's assets, list a pool without a
///      reserve of the asset, or skip the timelock. Anyone can `syncCap`/`acceptCap`. Trusted: the
///      listed pools (Aave) and the oracle.
contract RiskCappedVault is ERC4626, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice One lending market the vault supplies into.
    /// @param pool The Aave v3 Pool.
    /// @param aToken The pool's aToken of the vault's asset.
    /// @param feedMarket The key of the market's feed in the oracle (the reserve it reports on).
    /// @param maxCap The owner's ceiling, in assets.
    /// @param cap The current allocation cap, in assets.
    /// @param pendingCap A raise waiting for its timelock (0 if none).
    /// @param pendingValidAt When the pending raise may be accepted (0 if none).
    struct Market {
        IPool pool;
        IERC20 aToken;
        address feedMarket;
        uint256 maxCap;
        uint256 cap;
        uint256 pendingCap;
        uint64 pendingValidAt;
    }

    /// @notice The most markets the vault lists (bounds the gas of deposits and withdrawals).
    uint256 public constant MAX_MARKETS = 8;
    /// @notice 100 % in basis points.
    uint256 internal constant BPS = 10_000;

    /// @notice The feed the caps come from.
    IRiskOracle public immutable oracle;
    /// @notice Seconds a cap raise waits.
    uint64 public immutable capTimelock;

    Market[] internal _markets;

    /// @param asset_ The asset (e.g. USDC).
    /// @param name_ The share token's name.
    /// @param symbol_ The share token's symbol.
    /// @param oracle_ The RiskOracle whose feed sets the caps.
    /// @param owner_ Lists markets and sets their maximum caps.
    /// @param capTimelock_ Seconds a cap raise waits.
    constructor(
        IERC20 asset_,
        string memory name_,
        string memory symbol_,
        IRiskOracle oracle_,
        address owner_,
        uint64 capTimelock_
    ) ERC4626(asset_) ERC20(name_, symbol_) Ownable(owner_) {
        if (address(asset_) == address(0) || address(oracle_) == address(0)) {
            revert Errors.ZeroAddress();
        }
        oracle = oracle_;
        capTimelock = capTimelock_;
    }

    /* ------------------------------------ governance ------------------------------------ */

    /// @notice Lists an Aave pool; its cap starts at 0 and rises only through `syncCap` + `acceptCap`.
    /// @return index The market's index.
    function addMarket(IPool pool, address feedMarket, uint256 maxCap) external onlyOwner returns (uint256 index) {
        if (address(pool) == address(0) || feedMarket == address(0)) revert Errors.ZeroAddress();
        if (_markets.length >= MAX_MARKETS) revert Errors.TooManyMarkets();
        for (uint256 i; i < _markets.length; ++i) {
            if (_markets[i].pool == pool) revert Errors.MarketAlreadyListed(address(pool));
        }
        address aToken = pool.getReserveData(asset()).aTokenAddress;
        if (aToken == address(0)) revert Errors.ReserveNotListed(address(pool), asset());
        index = _markets.length;
        _markets.push(
            Market({
                pool: pool,
                aToken: IERC20(aToken),
                feedMarket: feedMarket,
                maxCap: maxCap,
                cap: 0,
                pendingCap: 0,
                pendingValidAt: 0
            })
        );
        emit Events.MarketAdded(index, address(pool), aToken, feedMarket, maxCap);
        syncCap(index);
    }

    /// @notice Sets market `index`'s ceiling; a lower cap applies at once, a higher one waits.
    function setMaxCap(uint256 index, uint256 maxCap) external onlyOwner {
        _market(index).maxCap = maxCap;
        emit Events.MaxCapSet(index, maxCap);
        syncCap(index);
    }

    /* --------------------------------------- caps --------------------------------------- */

    /// @notice Brings market `index`'s cap in line with the feed: a cut at once, a raise pending.
    /// @dev A new raise target restarts the timelock; a target equal to the cap clears any pending raise.
    function syncCap(uint256 index) public {
        Market storage m = _market(index);
        uint256 target = feedCap(index);
        if (target <= m.cap) {
            if (target < m.cap) {
                m.cap = target;
                emit Events.CapSet(index, target);
            }
            m.pendingCap = 0;
            m.pendingValidAt = 0;
        } else if (target != m.pendingCap) {
            // Casting is safe: block timestamps fit 64 bits.
            // forge-lint: disable-next-line(unsafe-typecast)
            uint64 validAt = uint64(block.timestamp) + capTimelock;
            m.pendingCap = target;
            m.pendingValidAt = validAt;
            emit Events.CapRaisePending(index, target, validAt);
        }
    }

    /// @notice Applies market `index`'s pending raise once its timelock elapsed (at most the feed's
    ///         value now); anyone may call.
    function acceptCap(uint256 index) external {
        Market storage m = _market(index);
        uint64 validAt = m.pendingValidAt;
        if (validAt == 0) revert Errors.NoPendingCap(index);
        if (block.timestamp < validAt) revert Errors.CapTimelockNotElapsed(index, validAt);
        uint256 newCap = Math.min(m.pendingCap, feedCap(index));
        m.pendingCap = 0;
        m.pendingValidAt = 0;
        if (newCap != m.cap) {
            m.cap = newCap;
            emit Events.CapSet(index, newCap);
        }
    }

    /// @notice Market `index`'s cap as the feed sets it now: `maxCap * (10_000 - riskBps) / 10_000`,
    ///         rounded down; 0 while the feed has no accepted update.
    function feedCap(uint256 index) public view returns (uint256) {
        return _feedCap(_market(index));
    }

    /// @notice What deposits may fill market `index` up to now: the lower of its stored cap and the
    ///         feed's cap, so a cut in the feed limits deposits before anyone calls `syncCap`.
    function allocationCap(uint256 index) external view returns (uint256) {
        Market storage m = _market(index);
        return Math.min(m.cap, _feedCap(m));
    }

    /* -------------------------------------- ERC-4626 ------------------------------------- */

    /// @notice Idle cash plus the aTokens held in every market.
    function totalAssets() public view override returns (uint256 total) {
        total = IERC20(asset()).balanceOf(address(this));
        for (uint256 i; i < _markets.length; ++i) {
            total += _markets[i].aToken.balanceOf(address(this));
        }
    }

    /// @notice At most what the owner's shares are worth and what can leave now.
    function maxWithdraw(address owner_) public view override returns (uint256) {
        return Math.min(super.maxWithdraw(owner_), availableLiquidity());
    }

    /// @notice At most the owner's shares and the shares of what can leave now.
    function maxRedeem(address owner_) public view override returns (uint256) {
        return Math.min(super.maxRedeem(owner_), _convertToShares(availableLiquidity(), Math.Rounding.Floor));
    }

    /// @notice Idle cash plus, per market, the part of the vault's aTokens Aave can pay out now.
    function availableLiquidity() public view returns (uint256 total) {
        IERC20 token = IERC20(asset());
        total = token.balanceOf(address(this));
        for (uint256 i; i < _markets.length; ++i) {
            Market storage m = _markets[i];
            total += Math.min(m.aToken.balanceOf(address(this)), token.balanceOf(address(m.aToken)));
        }
    }

    /* -------------------------------------- views -------------------------------------- */

    /// @notice The number of listed markets.
    function marketCount() external view returns (uint256) {
        return _markets.length;
    }

    /// @notice Market `index`.
    function market(uint256 index) external view returns (Market memory) {
        return _markets[index];
    }

    /* ------------------------------------- internal ------------------------------------ */

    function _market(uint256 index) internal view returns (Market storage) {
        if (index >= _markets.length) revert Errors.UnknownMarket(index);
        return _markets[index];
    }

    function _feedCap(Market storage m) internal view returns (uint256) {
        (uint64 epoch, uint16 riskBps) = oracle.riskOf(m.feedMarket);
        if (epoch == 0) return 0;
        return Math.mulDiv(m.maxCap, BPS - riskBps, BPS);
    }

    /// @dev Virtual shares and assets against donation (inflation) attacks.
    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    /// @dev Takes the deposit, then supplies it to the markets in order, each up to its allocation cap.
    ///      A market whose pool refuses the supply (Aave's supply cap reached, reserve paused or frozen) is
    ///      skipped and its allowance cleared, as MetaMorpho skips a market it cannot supply; what no
    ///      market takes stays idle. A caller who sends too little gas for a supply only leaves its own
    ///      deposit idle.
    function _transferIn(address from, uint256 assets) internal override {
        super._transferIn(from, assets);
        IERC20 token = IERC20(asset());
        uint256 left = assets;
        for (uint256 i; i < _markets.length && left != 0; ++i) {
            Market storage m = _markets[i];
            uint256 cap = Math.min(m.cap, _feedCap(m));
            uint256 held = m.aToken.balanceOf(address(this));
            if (held >= cap) continue;
            uint256 amount = Math.min(cap - held, left);
            token.forceApprove(address(m.pool), amount);
            try m.pool.supply(address(token), amount, address(this), 0) {
                left -= amount;
            } catch {
                token.forceApprove(address(m.pool), 0);
            }
        }
    }

    /// @dev Frees `assets` (idle first, then the markets in order), then pays them out.
    function _transferOut(address to, uint256 assets) internal override {
        IERC20 token = IERC20(asset());
        uint256 idle = token.balanceOf(address(this));
        if (idle < assets) {
            uint256 need = assets - idle;
            for (uint256 i; i < _markets.length && need != 0; ++i) {
                Market storage m = _markets[i];
                uint256 amount =
                    Math.min(need, Math.min(m.aToken.balanceOf(address(this)), token.balanceOf(address(m.aToken))));
                if (amount == 0) continue;
                need -= m.pool.withdraw(address(token), amount, address(this));
            }
            if (need != 0) revert Errors.InsufficientLiquidity(assets, assets - need);
        }
        super._transferOut(to, assets);
    }
}
