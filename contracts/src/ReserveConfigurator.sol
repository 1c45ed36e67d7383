// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {IReserveConfigurator} from "./interfaces/IReserveConfigurator.sol";
import {Errors} from "./libraries/Errors.sol";
import {Events} from "./libraries/Events.sol";

/// @title ReserveConfigurator
/// @notice A minimal stand-in for Aave v3's PoolConfigurator: it stores each reserve's LTV,
///         liquidation threshold and bonus, validates changes the way Aave v3 does and emits Aave's
///         `CollateralConfigurationChanged`. The forge unit tests of `RiskOracle` and `RiskRule` use it
///         as a fast target that validates like Aave; local deployments (the demo, `deploy_stack`) drive
///         Aave v3 itself through `AaveRiskSteward`.
/// @dev Roles. The owner (two-step transfer) can: initialise a reserve once with its starting
///      parameters, and choose the risk admin. The risk admin (the `RiskOracle`) can: change an
///      initialised reserve's parameters within Aave's validation. Nobody can: configure an
///      uninitialised reserve, or store parameters Aave v3 would reject.
contract ReserveConfigurator is IReserveConfigurator, Ownable2Step {
    /// @notice 100% in basis points (Aave's `PercentageMath.PERCENTAGE_FACTOR`).
    uint256 internal constant PERCENTAGE_FACTOR = 10_000;
    /// @notice The largest value Aave's 16-bit configuration fields hold.
    uint256 internal constant MAX_VALID_PARAM = type(uint16).max;

    struct Configuration {
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        bool initialized;
    }

    /// @notice The address allowed to call `configureReserveAsCollateral` (Aave's RISK_ADMIN).
    address public riskAdmin;

    mapping(address asset => Configuration) internal _configurations;

    /// @param initialOwner The owner: initialises reserves and sets the risk admin.
    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @notice Sets who may configure reserves (zero disables configuration).
    function setRiskAdmin(address newRiskAdmin) external onlyOwner {
        emit Events.RiskAdminSet(riskAdmin, newRiskAdmin);
        riskAdmin = newRiskAdmin;
    }

    /// @notice Registers `asset` with its starting parameters; each asset can be initialised once.
    function initReserve(address asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)
        external
        onlyOwner
    {
        if (asset == address(0)) revert Errors.ZeroAddress();
        if (_configurations[asset].initialized) revert Errors.ReserveAlreadyInitialized(asset);
        _validate(ltv, liquidationThreshold, liquidationBonus);
        // Casting to uint16 is safe: `_validate` rejects values above type(uint16).max.
        // forge-lint: disable-start(unsafe-typecast)
        _configurations[asset] = Configuration({
            ltv: uint16(ltv),
            liquidationThreshold: uint16(liquidationThreshold),
            liquidationBonus: uint16(liquidationBonus),
            initialized: true
        });
        // forge-lint: disable-end(unsafe-typecast)
        emit Events.ReserveInitialized(asset, ltv, liquidationThreshold, liquidationBonus);
        emit CollateralConfigurationChanged(asset, ltv, liquidationThreshold, liquidationBonus);
    }

    /// @inheritdoc IReserveConfigurator
    function configureReserveAsCollateral(
        address asset,
        uint256 ltv,
        uint256 liquidationThreshold,
        uint256 liquidationBonus
    ) external {
        if (msg.sender != riskAdmin || msg.sender == address(0)) {
            revert Errors.NotRiskAdmin();
        }
        Configuration storage config = _configurations[asset];
        if (!config.initialized) revert Errors.ReserveNotInitialized(asset);
        _validate(ltv, liquidationThreshold, liquidationBonus);
        // Casting to uint16 is safe: `_validate` rejects values above type(uint16).max.
        // forge-lint: disable-start(unsafe-typecast)
        config.ltv = uint16(ltv);
        config.liquidationThreshold = uint16(liquidationThreshold);
        config.liquidationBonus = uint16(liquidationBonus);
        // forge-lint: disable-end(unsafe-typecast)
        emit CollateralConfigurationChanged(asset, ltv, liquidationThreshold, liquidationBonus);
    }

    /// @notice The current parameters of `asset`, in bps (all zero if not initialised).
    function getConfiguration(address asset)
        external
        view
        returns (uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)
    {
        Configuration storage config = _configurations[asset];
        return (config.ltv, config.liquidationThreshold, config.liquidationBonus);
    }

    /// @notice Whether the owner initialised `asset`.
    function isInitialized(address asset) external view returns (bool) {
        return _configurations[asset].initialized;
    }

    /// @notice Whether Aave v3's `configureReserveAsCollateral` would accept these values.
    /// @dev Aave v3 (PoolConfigurator): ltv <= lt; if lt != 0, bonus > 100% and
    ///      percentMul(lt, bonus) <= 100%, where percentMul rounds half up; if lt == 0 (collateral
    ///      disabled), bonus == 0. Each value must also fit Aave's 16-bit configuration field.
    ///      (Aave additionally requires no suppliers before disabling collateral; a stand-in has none.)
    function isValidConfiguration(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus)
        public
        pure
        returns (bool)
    {
        if (ltv > MAX_VALID_PARAM || liquidationThreshold > MAX_VALID_PARAM || liquidationBonus > MAX_VALID_PARAM) {
            return false;
        }
        if (ltv > liquidationThreshold) return false;
        if (liquidationThreshold == 0) return liquidationBonus == 0;
        return liquidationBonus > PERCENTAGE_FACTOR
            && _percentMul(liquidationThreshold, liquidationBonus) <= PERCENTAGE_FACTOR;
    }

    function _validate(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus) internal pure {
        if (!isValidConfiguration(ltv, liquidationThreshold, liquidationBonus)) {
            revert Errors.InvalidReserveParams(ltv, liquidationThreshold, liquidationBonus);
        }
    }

    /// @dev Aave's `PercentageMath.percentMul`: value * percentage / 100%, rounded half up. The
    ///      operands are below 2^16 here, so the product cannot overflow.
    function _percentMul(uint256 value, uint256 percentage) internal pure returns (uint256) {
        return (value * percentage + PERCENTAGE_FACTOR / 2) / PERCENTAGE_FACTOR;
    }
}
