// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title PriceFeed
/// @notice A Chainlink-style price aggregator whose answers its owner sets: the price source of local
///         Aave markets and of stress scenarios. It answers Chainlink's `AggregatorInterface` and
///         `AggregatorV3Interface` and emits Chainlink's `AnswerUpdated` and `NewRound` with their exact
///         signatures, so consumers (Aave's `AaveOracle`, log ingestion) cannot tell it from a real feed.
/// @dev Every answer opens a new round; a round is answered in itself (`answeredInRound == roundId`) and
///      starts and is updated at the block that set it. The owner (the deployer) can set answers and
///      transfer ownership; nothing else changes state. Answers are not checked: a zero or negative
///      answer is stored as given, which lets tests exercise consumers' handling of bad prices.
contract PriceFeed is Ownable {
    /// @notice Chainlink's event for a new answer.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    /// @notice Chainlink's event for a new round.
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    /// @notice `getRoundData` was asked for a round that does not exist (Chainlink: "No data present").
    error NoDataPresent(uint80 roundId);

    uint8 private immutable _decimals;
    string private _description;
    uint256 private _latestRound;
    mapping(uint256 roundId => int256) private _answers;
    mapping(uint256 roundId => uint256) private _timestamps;

    /// @param decimals_ Decimals of the answers (8 for USD pairs on Chainlink).
    /// @param description_ What the answers price (e.g. "ETH / USD").
    /// @param initialAnswer The answer of round 1.
    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) Ownable(msg.sender) {
        _decimals = decimals_;
        _description = description_;
        _newRound(initialAnswer);
    }

    /// @notice Opens a new round answered with `answer`, timestamped with the current block.
    function setAnswer(int256 answer) external onlyOwner {
        _newRound(answer);
    }

    /// @notice The latest answer (Chainlink `AggregatorInterface`).
    function latestAnswer() external view returns (int256) {
        return _answers[_latestRound];
    }

    /// @notice When the latest answer was set.
    function latestTimestamp() external view returns (uint256) {
        return _timestamps[_latestRound];
    }

    /// @notice The latest round id (rounds start at 1).
    function latestRound() external view returns (uint256) {
        return _latestRound;
    }

    /// @notice The answer of `roundId` (0 for a round that does not exist, as Chainlink answers).
    function getAnswer(uint256 roundId) external view returns (int256) {
        return _answers[roundId];
    }

    /// @notice When `roundId` was answered (0 for a round that does not exist).
    function getTimestamp(uint256 roundId) external view returns (uint256) {
        return _timestamps[roundId];
    }

    /// @notice The latest round (Chainlink `AggregatorV3Interface`).
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _roundData(_latestRound);
    }

    /// @notice Round `roundId`; reverts with `NoDataPresent` when it does not exist.
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (roundId == 0 || roundId > _latestRound) revert NoDataPresent(roundId);
        return _roundData(roundId);
    }

    /// @notice Decimals of the answers.
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @notice What the answers price.
    function description() external view returns (string memory) {
        return _description;
    }

    /// @notice The aggregator interface version (Chainlink's current aggregators answer 4).
    function version() external pure returns (uint256) {
        return 4;
    }

    function _newRound(int256 answer) internal {
        uint256 roundId = ++_latestRound;
        _answers[roundId] = answer;
        _timestamps[roundId] = block.timestamp;
        emit AnswerUpdated(answer, roundId, block.timestamp);
        emit NewRound(roundId, msg.sender, block.timestamp);
    }

    function _roundData(uint256 roundId)
        internal
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        // Casting to uint80 is safe: rounds count up by one per transaction from 1.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint80 id = uint80(roundId);
        uint256 ts = _timestamps[roundId];
        return (id, _answers[roundId], ts, ts, id);
    }
}
