// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {DataTypes} from "@aave/core-v3/contracts/protocol/libraries/types/DataTypes.sol";

import {IRiskOracle} from "../../src/interfaces/IRiskOracle.sol";

/// @title AaveValidation
/// @notice Aave v3's `PoolConfigurator.configureReserveAsCollateral` validation, as a pure function, so
///         tests can check that what zkrisk produces (RiskRule's output, the steward's updates) is what
///         Aave accepts, without deploying Aave. The Rust integration tests run the real Aave.
library AaveValidation {
    /// @notice 100% in basis points (Aave's `PercentageMath.PERCENTAGE_FACTOR`).
    uint256 internal constant PERCENTAGE_FACTOR = 10_000;
    /// @notice The largest value Aave's 16-bit configuration fields hold.
    uint256 internal constant MAX_VALID_PARAM = type(uint16).max;
    /// @notice The largest supply or borrow cap Aave's 36-bit fields hold.
    uint256 internal constant MAX_VALID_CAP = 68_719_476_735;

    /// @notice Whether Aave v3's `configureReserveAsCollateral` would accept these values.
    /// @dev Aave v3 (PoolConfigurator): ltv <= lt; if lt != 0, bonus > 100% and
    ///      percentMul(lt, bonus) <= 100%, where percentMul rounds half up; if lt == 0 (collateral
    ///      disabled), bonus == 0. Each value must also fit Aave's 16-bit configuration field.
    function isValidConfiguration(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)
        internal
        pure
        returns (bool)
    {
        if (ltv > MAX_VALID_PARAM || liquidationThreshold > MAX_VALID_PARAM || liquidationBonus > MAX_VALID_PARAM) {
            return false;
        }
        if (ltv > liquidationThreshold) return false;
        if (liquidationThreshold == 0) return liquidationBonus == 0;
        return
            liquidationBonus > PERCENTAGE_FACTOR
                && percentMul(liquidationThreshold, liquidationBonus) <= PERCENTAGE_FACTOR;
    }

    /// @notice Aave's `PercentageMath.percentMul`: value * percentage / 100%, rounded half up.
    function percentMul(uint256 value, uint256 percentage) internal pure returns (uint256) {
        return (value * percentage + PERCENTAGE_FACTOR / 2) / PERCENTAGE_FACTOR;
    }
}

/// @title MockAaveMarket
/// @notice Stands in for Aave v3's PoolConfigurator and PoolDataProvider in the steward's unit and
///         invariant tests: it stores each reserve's LTV, LT, bonus and caps, validates collateral changes
///         as Aave does (`AaveValidation`, reverting with Aave's code "20"), admits only its risk admin,
///         and records every change so invariant tests can replay the history. It isolates the steward's
///         own checks; `oracle/tests/it/chain.rs` drives the real Aave contracts.
contract MockAaveMarket {
    struct Reserve {
        uint256 ltv;
        uint256 liquidationThreshold;
        uint256 liquidationBonus;
        uint256 supplyCap;
        uint256 borrowCap;
    }

    /// @notice One applied change: parameter index (0 LTV .. 4 borrow cap), values and time.
    struct Change {
        address asset;
        uint8 param;
        uint256 oldValue;
        uint256 newValue;
        uint256 timestamp;
    }

    address public riskAdmin;
    /// @notice Whether changes are recorded (invariant tests switch it on; unit tests keep it off so
    ///         the gas snapshot measures the steward, not the mock's bookkeeping).
    bool public recording;
    mapping(address asset => Reserve) public reserves;
    Change[] internal _changes;

    function setRecording(bool on) external {
        recording = on;
    }

    function setRiskAdmin(address admin) external {
        riskAdmin = admin;
    }

    function listReserve(address asset, Reserve calldata r) external {
        reserves[asset] = r;
    }

    function changeCount() external view returns (uint256) {
        return _changes.length;
    }

    function change(uint256 i) external view returns (Change memory) {
        return _changes[i];
    }

    /* ------------------------------ IPoolConfigurator subset ------------------------------ */

    function configureReserveAsCollateral(address asset, uint256 ltv, uint256 lt, uint256 bonus) external {
        require(msg.sender == riskAdmin, "4"); // CALLER_NOT_RISK_OR_POOL_ADMIN
        require(AaveValidation.isValidConfiguration(ltv, lt, bonus), "20"); // INVALID_RESERVE_PARAMS
        Reserve storage r = reserves[asset];
        _record(asset, 0, r.ltv, ltv);
        _record(asset, 1, r.liquidationThreshold, lt);
        _record(asset, 2, r.liquidationBonus, bonus);
        (r.ltv, r.liquidationThreshold, r.liquidationBonus) = (ltv, lt, bonus);
    }

    function setSupplyCap(address asset, uint256 cap) external {
        require(msg.sender == riskAdmin, "4");
        require(cap <= AaveValidation.MAX_VALID_CAP, "69"); // INVALID_SUPPLY_CAP
        _record(asset, 3, reserves[asset].supplyCap, cap);
        reserves[asset].supplyCap = cap;
    }

    function setBorrowCap(address asset, uint256 cap) external {
        require(msg.sender == riskAdmin, "4");
        require(cap <= AaveValidation.MAX_VALID_CAP, "68"); // INVALID_BORROW_CAP
        _record(asset, 4, reserves[asset].borrowCap, cap);
        reserves[asset].borrowCap = cap;
    }

    /* ------------------------------ IPoolDataProvider subset ------------------------------ */

    function getReserveConfigurationData(address asset)
        external
        view
        returns (uint256, uint256, uint256, uint256, uint256, bool, bool, bool, bool, bool)
    {
        Reserve storage r = reserves[asset];
        return (18, r.ltv, r.liquidationThreshold, r.liquidationBonus, 1_000, true, true, false, true, false);
    }

    function getReserveCaps(address asset) external view returns (uint256 borrowCap, uint256 supplyCap) {
        Reserve storage r = reserves[asset];
        return (r.borrowCap, r.supplyCap);
    }

    function _record(address asset, uint8 param, uint256 oldValue, uint256 newValue) internal {
        if (recording && oldValue != newValue) {
            _changes.push(Change(asset, param, oldValue, newValue, block.timestamp));
        }
    }
}

/// @title MockAToken
/// @notice An aToken stand-in: an ERC-20 only its pool mints and burns, 1:1 with the underlying, which it
///         holds (as Aave's aTokens hold their reserve's cash).
contract MockAToken is ERC20 {
    using SafeERC20 for IERC20;

    address public immutable pool;
    IERC20 public immutable underlying;

    constructor(address pool_, IERC20 underlying_) ERC20("Mock aToken", "maTKN") {
        pool = pool_;
        underlying = underlying_;
    }

    modifier onlyPool() {
        require(msg.sender == pool, "only pool");
        _;
    }

    function mint(address to, uint256 amount) external onlyPool {
        _mint(to, amount);
    }

    function burn(address from, uint256 amount) external onlyPool {
        _burn(from, amount);
    }

    /// @notice Aave's `IAToken.transferUnderlyingTo`.
    function transferUnderlyingTo(address to, uint256 amount) external onlyPool {
        underlying.safeTransfer(to, amount);
    }
}

/// @title MockAavePool
/// @notice The three functions of Aave v3's `IPool` the vault calls (`supply`, `withdraw`,
///         `getReserveData`), 1:1 with a mock aToken that holds the underlying, plus `accrue` to simulate
///         interest and `lend`/`repay` to simulate cash borrowed out. It isolates the vault's accounting
///         from Aave's index math; `oracle/tests/it/vault.rs` runs the vault against the real Aave.
contract MockAavePool {
    using SafeERC20 for IERC20;

    IERC20 public immutable underlying;
    MockAToken public immutable aToken;
    /// @notice While set, `supply` reverts as Aave's does when the reserve's supply cap is reached.
    bool public refusing;

    constructor(IERC20 underlying_) {
        underlying = underlying_;
        aToken = new MockAToken(address(this), underlying_);
    }

    function setRefusing(bool on) external {
        refusing = on;
    }

    function supply(address asset, uint256 amount, address onBehalfOf, uint16) external {
        require(!refusing, "51"); // SUPPLY_CAP_EXCEEDED
        require(asset == address(underlying), "asset");
        require(amount != 0, "26"); // INVALID_AMOUNT
        underlying.safeTransferFrom(msg.sender, address(aToken), amount);
        aToken.mint(onBehalfOf, amount);
    }

    function withdraw(address asset, uint256 amount, address to) external returns (uint256) {
        require(asset == address(underlying), "asset");
        if (amount == type(uint256).max) amount = aToken.balanceOf(msg.sender);
        require(amount != 0, "26");
        require(amount <= aToken.balanceOf(msg.sender), "32"); // NOT_ENOUGH_AVAILABLE_USER_BALANCE
        aToken.burn(msg.sender, amount);
        aToken.transferUnderlyingTo(to, amount);
        return amount;
    }

    /// @notice Yield: `amount` of new aTokens for `holder`, backed by underlying the caller sends.
    function accrue(address holder, uint256 amount) external {
        underlying.safeTransferFrom(msg.sender, address(aToken), amount);
        aToken.mint(holder, amount);
    }

    /// @notice A borrower takes `amount` of the reserve's cash.
    function lend(address to, uint256 amount) external {
        aToken.transferUnderlyingTo(to, amount);
    }

    /// @notice A borrower pays `amount` of cash back (the caller sends it).
    function repay(uint256 amount) external {
        underlying.safeTransferFrom(msg.sender, address(aToken), amount);
    }

    function getReserveData(address asset) external view returns (DataTypes.ReserveData memory data) {
        if (asset == address(underlying)) data.aTokenAddress = address(aToken);
    }
}

/// @title MockRiskOracle
/// @notice Answers `marketState` with what a test sets, so the vault's cap logic is tested apart from
///         proofs (`oracle/tests/it/vault.rs` feeds the vault from the real oracle).
contract MockRiskOracle {
    mapping(address market => IRiskOracle.MarketState) internal _states;

    function setRisk(address market, uint64 epoch, uint16 riskBps) external {
        _states[market].epoch = epoch;
        _states[market].riskBps = riskBps;
    }

    function marketState(address market) external view returns (IRiskOracle.MarketState memory) {
        return _states[market];
    }

    function riskOf(address market) external view returns (uint64, uint16) {
        return (_states[market].epoch, _states[market].riskBps);
    }
}
