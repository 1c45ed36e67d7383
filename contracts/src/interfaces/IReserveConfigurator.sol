// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IReserveConfigurator
/// @notice The slice of Aave v3's `IPoolConfigurator` that zkrisk drives: a reserve's collateral
///         parameters. The function and the event have exactly Aave v3's signatures, so the oracle
///         can target `ReserveConfigurator` locally and Aave v3's PoolConfigurator (through a risk
///         steward holding RISK_ADMIN) later without changing a byte of calldata or of the logs.
/// @dev All values are in basis points (10_000 = 100%), as in Aave v3.
interface IReserveConfigurator {
    /// @notice Emitted when a reserve's collateral configuration changes.
    /// @param asset The underlying asset of the reserve.
    /// @param ltv The new loan-to-value, in bps.
    /// @param liquidationThreshold The new liquidation threshold, in bps.
    /// @param liquidationBonus The new liquidation bonus, in bps (10_500 means a 5% bonus).
    event CollateralConfigurationChanged(
        address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus
    );

    /// @notice Configures a reserve's collateralization parameters.
    /// @dev Aave v3 rejects the call (INVALID_RESERVE_PARAMS) unless `ltv <= liquidationThreshold`
    ///      and, when `liquidationThreshold != 0`, `liquidationBonus > 10_000` and
    ///      `percentMul(liquidationThreshold, liquidationBonus) <= 10_000`.
    /// @param asset The underlying asset of the reserve.
    /// @param ltv The loan-to-value, in bps.
    /// @param liquidationThreshold The threshold at which positions become liquidatable, in bps.
    /// @param liquidationBonus The bonus liquidators receive, in bps (above 10_000).
    function configureReserveAsCollateral(
        address asset,
        uint256 ltv,
        uint256 liquidationThreshold,
        uint256 liquidationBonus
    ) external;
}
