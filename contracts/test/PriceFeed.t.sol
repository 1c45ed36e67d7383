// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {Test} from "./utils/Test.sol";

import {PriceFeed} from "../src/mocks/PriceFeed.sol";

contract PriceFeedTest is Test {
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    uint256 internal constant T0 = 1_700_000_000;
    int256 internal constant ETH_USD = 3_000e8;

    PriceFeed internal feed;
    address internal constant stranger = address(0x5712A);

    function setUp() public {
        vm.warp(T0);
        feed = new PriceFeed(8, "ETH / USD", ETH_USD);
    }

    function assertEqInt(int256 left, int256 right) internal pure {
        assertTrue(left == right, "int256 values differ");
    }

    function test_constructor_opensRoundOne() public view {
        assertEq(feed.owner(), address(this));
        assertEq(feed.decimals(), 8);
        assertEq(keccak256(bytes(feed.description())), keccak256("ETH / USD"));
        assertEq(feed.version(), 4);
        assertEq(feed.latestRound(), 1);
        assertEqInt(feed.latestAnswer(), ETH_USD);
        assertEq(feed.latestTimestamp(), T0);
        assertEqInt(feed.getAnswer(1), ETH_USD);
        assertEq(feed.getTimestamp(1), T0);
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) =
            feed.latestRoundData();
        assertEq(roundId, 1);
        assertEqInt(answer, ETH_USD);
        assertEq(startedAt, T0);
        assertEq(updatedAt, T0);
        assertEq(answeredInRound, 1);
    }

    function test_constructor_emitsAnswerUpdated() public {
        vm.expectEmit(true, true, true, true);
        emit AnswerUpdated(ETH_USD, 1, T0);
        new PriceFeed(8, "ETH / USD", ETH_USD);
    }

    function test_setAnswer_opensRoundAndEmitsChainlinkEvents() public {
        vm.warp(T0 + 60);
        vm.expectEmit(true, true, true, true, address(feed));
        emit AnswerUpdated(2_500e8, 2, T0 + 60);
        vm.expectEmit(true, true, true, true, address(feed));
        emit NewRound(2, address(this), T0 + 60);
        feed.setAnswer(2_500e8);

        assertEq(feed.latestRound(), 2);
        assertEqInt(feed.latestAnswer(), 2_500e8);
        assertEq(feed.latestTimestamp(), T0 + 60);
        (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = feed.latestRoundData();
        assertEq(roundId, 2);
        assertEqInt(answer, 2_500e8);
        assertEq(updatedAt, T0 + 60);
        assertEq(answeredInRound, 2);
        // Round 1 is kept.
        (roundId, answer,, updatedAt,) = feed.getRoundData(1);
        assertEq(roundId, 1);
        assertEqInt(answer, ETH_USD);
        assertEq(updatedAt, T0);
        assertEqInt(feed.getAnswer(1), ETH_USD);
    }

    function test_setAnswer_onlyOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        feed.setAnswer(1);
        assertEq(feed.latestRound(), 1);
    }

    function test_getRoundData_revertsForMissingRounds() public {
        vm.expectRevert(abi.encodeWithSelector(PriceFeed.NoDataPresent.selector, uint80(0)));
        feed.getRoundData(0);
        vm.expectRevert(abi.encodeWithSelector(PriceFeed.NoDataPresent.selector, uint80(2)));
        feed.getRoundData(2);
        assertEqInt(feed.getAnswer(2), 0);
        assertEq(feed.getTimestamp(2), 0);
    }

    function testFuzz_setAnswer_storesAnyAnswer(int256 answer) public {
        feed.setAnswer(answer);
        assertEqInt(feed.latestAnswer(), answer);
        assertEqInt(feed.getAnswer(2), answer);
    }
}
