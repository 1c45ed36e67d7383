// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Events
/// @notice The events zkrisk's own contracts emit. `CollateralConfigurationChanged` is Aave v3's
///         and lives in `IReserveConfigurator`.
library Events {
    /// @notice A proven update was applied to `asset` and forwarded to the configurator.
    /// @param asset The reserve whose parameters moved.
    /// @param epoch The update's epoch (strictly increasing per asset).
    /// @param ltv The new loan-to-value, in bps.
    /// @param liquidationThreshold The new liquidation threshold, in bps.
    /// @param liquidationBonus The new liquidation bonus, in bps.
    /// @param riskBps The batch's mean liquidation probability, in bps, rounded up.
    /// @param proofHash keccak256 of the proof bytes, to find the proof in the off-chain feed.
    /// @param publisher The keeper that submitted the update.
    event UpdateApplied(
        address indexed asset,
        uint64 indexed epoch,
        uint16 ltv,
        uint16 liquidationThreshold,
        uint16 liquidationBonus,
        uint16 riskBps,
        bytes32 proofHash,
        address publisher
    );

    /// @notice The owner initialised `asset` in the `ReserveConfigurator`.
    event ReserveInitialized(
        address indexed asset, uint256 ltv, uint256 liquidationThreshold, uint256 liquidationBonus
    );

    /// @notice The owner changed who may configure reserves in the `ReserveConfigurator`.
    event RiskAdminSet(address indexed previousRiskAdmin, address indexed newRiskAdmin);
}
