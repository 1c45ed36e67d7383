// SPDX-License-Identifier: MIT
pragma solidity 0.8.20;

import {Test} from "./utils/Test.sol";

import {Errors} from "../src/libraries/Errors.sol";
import {Logistic} from "../src/libraries/Logistic.sol";

/// @dev Exposes the library's internal function so reverts happen one call deeper than the test.
contract LogisticHarness {
    function probabilityUp(uint256 logit, uint8 bits) external pure returns (uint256) {
        return Logistic.probabilityUp(logit, bits);
    }

    function packedProbabilitySumUp(uint256 instance, uint8 bits) external pure returns (uint256) {
        return Logistic.packedProbabilitySumUp(instance, bits);
    }
}

contract LogisticTest is Test {
    string internal constant VECTORS_PATH = "test/fixtures/logistic_vectors.json";
    uint256 internal constant R = Logistic.FIELD_MODULUS;

    LogisticHarness internal harness;

    function setUp() public {
        harness = new LogisticHarness();
    }

    /// @notice Every case in test/fixtures/logistic_vectors.json (shared with the Rust copy).
    function test_vectors() public view {
        string memory json = vm.readFile(VECTORS_PATH);
        assertEq(vm.parseJsonUint(json, ".probBits"), Logistic.PROB_BITS, "probBits");
        uint256 count;
        while (vm.keyExistsJson(json, _key(count, ""))) {
            string memory name = vm.parseJsonString(json, _key(count, ".name"));
            uint256 bits = vm.parseJsonUint(json, _key(count, ".bits"));
            uint256 logit = vm.parseJsonUint(json, _key(count, ".logit"));
            uint256 want = vm.parseJsonUint(json, _key(count, ".probability"));
            // Casting is safe: the vectors' scales are at most 64.
            // forge-lint: disable-next-line(unsafe-typecast)
            assertEq(harness.probabilityUp(logit, uint8(bits)), want, name);
            ++count;
        }
        assertGe(count, 60, "expected at least 60 vectors");
    }

    /// @notice Every packed case in test/fixtures/logistic_vectors.json: the sum of the three
    ///         probabilities, the same as `probabilityUp` of each logit, or `MalformedPackedLogits`.
    function test_packedVectors() public {
        string memory json = vm.readFile(VECTORS_PATH);
        uint256 count;
        while (vm.keyExistsJson(json, _packedKey(count, ""))) {
            string memory name = vm.parseJsonString(json, _packedKey(count, ".name"));
            uint256 instance = vm.parseJsonUint(json, _packedKey(count, ".instance"));
            if (vm.keyExistsJson(json, _packedKey(count, ".malformed"))) {
                vm.expectRevert(abi.encodeWithSelector(Errors.MalformedPackedLogits.selector, instance));
                harness.packedProbabilitySumUp(instance, 28);
            } else {
                uint256 want = vm.parseJsonUint(json, _packedKey(count, ".probabilitySum"));
                assertEq(harness.packedProbabilitySumUp(instance, 28), want, name);
                uint256[] memory logits = vm.parseJsonUintArray(json, _packedKey(count, ".logits"));
                uint256 each;
                for (uint256 i; i < logits.length; ++i) {
                    each += harness.probabilityUp(logits[i], 28);
                }
                assertEq(each, want, string.concat(name, ": slot by slot"));
            }
            ++count;
        }
        assertGe(count, 10, "expected at least 10 packed vectors");
    }

    function test_packedRevertsOnNonFieldElement() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.NotAFieldElement.selector, R));
        harness.packedProbabilitySumUp(R, 28);
    }

    /// @notice The gas of one packed instance (three logits near -5).
    function test_gas_packedInstanceOfThreeLogits() public view {
        uint256 z = 5 << 28;
        uint256 instance = R - (z + (z << 50) + (z << 100));
        assertGe(harness.packedProbabilitySumUp(instance, 28), 3, "p");
    }

    function test_revertsOnNonFieldElement() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.NotAFieldElement.selector, R));
        harness.probabilityUp(R, 24);
        vm.expectRevert(abi.encodeWithSelector(Errors.NotAFieldElement.selector, type(uint256).max));
        harness.probabilityUp(type(uint256).max, 24);
    }

    function test_revertsOnScaleAbove64() public {
        vm.expectRevert(abi.encodeWithSelector(Errors.OutputScaleTooLarge.selector, uint8(65)));
        harness.probabilityUp(0, 65);
    }

    /// @notice The gas of one logit (recorded in the snapshot): a typical 7-day logit of -5.
    function test_gas_probabilityOfOneLogit() public view {
        uint256 p = harness.probabilityUp(R - (5 << 24), 24);
        assertGe(p, 1, "p");
    }

    /// @notice Monotone over the whole field: a larger signed logit never gets a smaller probability.
    function testFuzz_monotone(int128 a, int128 b) public view {
        (int128 lo, int128 hi) = a <= b ? (a, b) : (b, a);
        assertLe(harness.probabilityUp(_field(lo), 24), harness.probabilityUp(_field(hi), 24), "monotone");
    }

    /// @notice Every probability is in [1, 2^32], and p(z) + p(-z) is 2^32 or one or two units above
    ///         it (each side is rounded up by at most one unit).
    function testFuzz_boundsAndSymmetry(int128 z) public view {
        vm.assume(z != type(int128).min);
        uint256 p = harness.probabilityUp(_field(z), 28);
        uint256 q = harness.probabilityUp(_field(-z), 28);
        assertGe(p, 1, "p >= 1 unit");
        assertLe(p, uint256(1) << 32, "p <= 1");
        assertGe(p + q, uint256(1) << 32, "p(z) + p(-z) >= 1");
        assertLe(p + q, (uint256(1) << 32) + 2, "p(z) + p(-z) <= 1 + 2 units");
    }

    function _field(int128 z) internal pure returns (uint256) {
        // Casting is safe: |z| < 2^128 < R.
        // forge-lint: disable-next-line(unsafe-typecast)
        return z >= 0 ? uint256(uint128(z)) : R - uint256(uint128(-(z + 1))) - 1;
    }

    function _packedKey(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".packed[", vm.toString(i), "]", field);
    }

    function _key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "]", field);
    }
}
