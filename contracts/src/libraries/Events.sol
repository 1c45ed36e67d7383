// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IAaveRiskSteward} from "../interfaces/IAaveRiskSteward.sol";
import {IRiskOracle} from "../interfaces/IRiskOracle.sol";

/// @title Events
/// @notice The events zkrisk's own contracts emit. Aave's (`CollateralConfigurationChanged`,
///         `SupplyCapChanged`, `BorrowCapChanged`) come from Aave's PoolConfigurator itself.
library Events {
    /* ----------------------------------- RiskOracle ----------------------------------- */

    /// @notice A proven update was accepted for `market` and queued in the steward.
    /// @param market The reserve (underlying asset) the update is about.
    /// @param epoch The update's epoch (strictly increasing per market).
    /// @param modelId The model whose verifier accepted the proof.
    /// @param state The market's new state (scores hash, parameters, proof hash, publisher, ...).
    /// @param scores The proven scores, in the proof's order (the state keeps only their hash).
    event UpdateAccepted(
        address indexed market,
        uint64 indexed epoch,
        uint32 indexed modelId,
        IRiskOracle.MarketState state,
        uint256[] scores
    );

    /// @notice The steward refused to queue an accepted update's parameters; the update is recorded with
    ///         `stewardUpdateId` 0 and Aave is not changed.
    /// @param market The market.
    /// @param epoch The accepted update's epoch.
    /// @param reason The steward's revert data (e.g. `BoundExceeded`, `DelayNotElapsed`, `StewardPaused`).
    event StewardRefused(address indexed market, uint64 indexed epoch, bytes reason);

    /// @notice Governance scheduled an operation; it can execute from `readyAt`.
    event OperationScheduled(bytes32 indexed operationId, uint8 indexed kind, uint64 readyAt);

    /// @notice Governance cancelled a scheduled operation.
    event OperationCancelled(bytes32 indexed operationId);

    /// @notice A model was registered (after its timelock).
    event ModelRegistered(uint32 indexed modelId, IRiskOracle.Model model);

    /// @notice A model was retired (after its timelock); its id can never be used again.
    event ModelRetired(uint32 indexed modelId);

    /// @notice A market's feed configuration was set (after its timelock).
    event MarketConfigured(address indexed market, IRiskOracle.MarketConfig config);

    /// @notice The owner added or removed a keeper.
    event KeeperSet(address indexed keeper, bool allowed);

    /* --------------------------------- AaveRiskSteward --------------------------------- */

    /// @notice The owner named the RiskOracle.
    event RiskOracleSet(address indexed riskOracle);

    /// @notice The owner changed the guardian.
    event GuardianSet(address indexed previousGuardian, address indexed newGuardian);

    /// @notice The owner restricted or freed an asset.
    event AssetRestrictionSet(address indexed asset, bool restricted);

    /// @notice The steward was paused (`paused = true`) or unpaused by `by`.
    event PauseSet(bool paused, address indexed by);

    /// @notice An update was queued; it can execute from `executableAt` until its `validUntil`.
    event UpdateQueued(
        uint256 indexed id, address indexed asset, IAaveRiskSteward.ParamUpdate update, uint40 executableAt
    );

    /// @notice A queued update was applied to Aave.
    event UpdateExecuted(uint256 indexed id, address indexed asset, address executor);

    /// @notice A queued update was disabled by `by` (the guardian or the owner).
    event UpdateDisabled(uint256 indexed id, address indexed asset, address indexed by);

    /* -------------------------------- RiskCappedVault -------------------------------- */

    /// @notice The owner listed a market (an Aave pool) with its feed key and maximum cap.
    event MarketAdded(uint256 indexed index, address indexed pool, address aToken, address feedMarket, uint256 maxCap);

    /// @notice The owner changed a market's maximum cap.
    event MaxCapSet(uint256 indexed index, uint256 maxCap);

    /// @notice A market's allocation cap changed (a cut at once, a raise after its timelock).
    event CapSet(uint256 indexed index, uint256 cap);

    /// @notice A cap raise was proposed from the feed; it can be accepted from `validAt`.
    event CapRaisePending(uint256 indexed index, uint256 pendingCap, uint64 validAt);
}
