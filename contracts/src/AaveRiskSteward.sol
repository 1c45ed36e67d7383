// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {IPoolConfigurator} from "@aave/core-v3/contracts/interfaces/IPoolConfigurator.sol";

import {IReserveConfigurator} from "./interfaces/IReserveConfigurator.sol";

/// @title AaveRiskSteward
/// @notice Applies `RiskOracle`'s proof-checked collateral parameters to a real Aave v3 market. It holds
///         Aave's RISK_ADMIN role (granted by the market's ACL admin) and forwards
///         `configureReserveAsCollateral` to Aave's `PoolConfigurator`, so the oracle never holds an Aave
///         role itself and the role can be revoked from this one contract.
/// @dev This is the minimal steward: it checks only that every value is non-zero and that LTV is below
///      the liquidation threshold (Aave's own checks follow in the PoolConfigurator: LT x bonus <= 100%,
///      bonus > 100%). Per-parameter bounds (maximum increase and decrease), minimum delays between
///      updates and a guardian that can pause it, as in Aave's Risk Stewards, are a later addition.
///
///      Roles. The owner can: name the RiskOracle once (`setOracle`). The RiskOracle can: set a reserve's
///      LTV, liquidation threshold and bonus within the checks above. Nobody can: change the oracle once
///      set, call any other PoolConfigurator function through this contract, or move parameters before
///      the oracle is named.
///
///      Why a one-time setter instead of an immutable oracle: `RiskOracle` takes its configurator (this
///      contract) as an immutable constructor argument, so the steward must exist first. Predicting the
///      oracle's CREATE address from the deployer's nonce breaks as soon as any other transaction of the
///      deployer lands in between; a setter that works once, only for the owner, has no such failure mode
///      and leaves nothing to govern afterwards. Until it is called every update reverts.
///
///      Threat: whoever can trigger a liquidation-threshold decrease can liquidate in the same
///      transaction. Only the RiskOracle may call, and the RiskOracle accepts updates from its keeper only
///      (see its NatSpec); grant RISK_ADMIN to this contract after `setOracle`.
contract AaveRiskSteward is IReserveConfigurator {
    /// @notice The caller is not the owner.
    error NotOwner();
    /// @notice The caller is not the RiskOracle (or the oracle has not been named yet).
    error NotRiskOracle();
    /// @notice `setOracle` was already called.
    error OracleAlreadySet();
    /// @notice An address argument is zero.
    error ZeroAddress();
    /// @notice A value is zero, or LTV is not below the liquidation threshold.
    error InvalidCollateralParams(uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus);

    /// @notice The owner named the RiskOracle.
    event OracleSet(address indexed oracle);

    /// @notice Aave's PoolConfigurator (the proxy) of the market this steward manages.
    IPoolConfigurator public immutable poolConfigurator;
    /// @notice May call `setOracle`, once.
    address public immutable owner;
    /// @notice The only caller of `configureReserveAsCollateral` (zero until named).
    address public oracle;

    /// @param poolConfigurator_ Aave's PoolConfigurator of the market.
    /// @param owner_ Who names the RiskOracle.
    constructor(address poolConfigurator_, address owner_) {
        if (poolConfigurator_ == address(0) || owner_ == address(0)) revert ZeroAddress();
        poolConfigurator = IPoolConfigurator(poolConfigurator_);
        owner = owner_;
    }

    /// @notice Names the RiskOracle allowed to update parameters; works once.
    function setOracle(address oracle_) external {
        if (msg.sender != owner) revert NotOwner();
        if (oracle != address(0)) revert OracleAlreadySet();
        if (oracle_ == address(0)) revert ZeroAddress();
        oracle = oracle_;
        emit OracleSet(oracle_);
    }

    /// @inheritdoc IReserveConfigurator
    /// @dev Reverts with `NotRiskOracle` for any other caller and `InvalidCollateralParams` unless
    ///      0 < ltv < liquidationThreshold and liquidationBonus > 0; Aave's own revert (a numeric error
    ///      string such as "20", INVALID_RESERVE_PARAMS) is passed through unchanged.
    function configureReserveAsCollateral(
        address asset,
        uint256 ltv,
        uint256 liquidationThreshold,
        uint256 liquidationBonus
    ) external {
        // `oracle` is zero until named and no call comes from address zero, so this also rejects
        // every call before `setOracle`.
        if (msg.sender != oracle) revert NotRiskOracle();
        if (ltv == 0 || liquidationBonus == 0 || ltv >= liquidationThreshold) {
            revert InvalidCollateralParams(ltv, liquidationThreshold, liquidationBonus);
        }
        poolConfigurator.configureReserveAsCollateral(asset, ltv, liquidationThreshold, liquidationBonus);
    }
}
