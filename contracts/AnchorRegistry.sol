// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title AnchorRegistry
 * @notice Append-only registry of Merkle roots of the carbon-ledger event log.
 *
 * @dev Every checkpoint commits to the first `treeSize` events of the off-chain, event-sourced
 * ledger through the Merkle root `root` of the log at that size. Only the 32-byte root is stored
 * on chain, so the cost of {anchor} is independent of the number of events in the ledger and of
 * the number of checkpoints already anchored.
 *
 * Guarantees:
 *
 * - Checkpoints are append-only: there is no function that modifies or deletes a checkpoint,
 *   not even for the admin.
 * - Tree sizes strictly increase from one checkpoint to the next (the first one is non-zero), so
 *   a tree size identifies at most one checkpoint (see {rootOf}).
 * - Roots are never zero.
 * - Only accounts holding {ANCHORER_ROLE} can anchor; roles are managed with OpenZeppelin's
 *   {AccessControl} ({DEFAULT_ADMIN_ROLE} is the admin of {ANCHORER_ROLE}).
 */
contract AnchorRegistry is AccessControl {
    /**
     * @notice A Merkle root of the event log anchored on chain.
     * @param treeSize Number of events (leaves) committed to by `root`.
     * @param anchoredAt Timestamp of the block in which the checkpoint was anchored.
     * @param blockNumber Number of the block in which the checkpoint was anchored.
     * @param root Merkle root of the first `treeSize` events of the log.
     *
     * @dev The three `uint64` fields share one storage slot and `root` takes a second one.
     */
    struct Checkpoint {
        uint64 treeSize;
        uint64 anchoredAt;
        uint64 blockNumber;
        bytes32 root;
    }

    /// @notice Role allowed to call {anchor}.
    bytes32 public constant ANCHORER_ROLE = keccak256("ANCHORER_ROLE");

    Checkpoint[] private _checkpoints;

    /// @dev Checkpoint index + 1 for every anchored tree size (0 means "not anchored").
    mapping(uint64 treeSize => uint256 indexPlusOne) private _indexPlusOneByTreeSize;

    /**
     * @notice Emitted when a checkpoint is appended by {anchor}.
     * @param index Position of the new checkpoint (0-based).
     * @param treeSize Number of events committed to by `root`.
     * @param root Merkle root of the first `treeSize` events of the log.
     * @param anchoredAt Timestamp of the block in which the checkpoint was anchored.
     */
    event CheckpointAnchored(
        uint256 indexed index,
        uint64 indexed treeSize,
        bytes32 root,
        uint64 anchoredAt
    );

    /**
     * @notice The initial admin passed to the constructor is the zero address.
     * @param admin The rejected admin address.
     */
    error AnchorRegistryInvalidAdmin(address admin);

    /**
     * @notice The tree size to anchor is not strictly greater than the latest anchored one.
     * @param treeSize The rejected tree size.
     * @param latestTreeSize Tree size of the latest checkpoint (0 if there is none).
     */
    error AnchorRegistryTreeSizeNotIncreasing(uint64 treeSize, uint64 latestTreeSize);

    /// @notice The root to anchor is zero.
    error AnchorRegistryZeroRoot();

    /**
     * @notice No checkpoint exists at `index`.
     * @param index The requested checkpoint index.
     */
    error AnchorRegistryUnknownCheckpoint(uint256 index);

    /**
     * @notice No checkpoint has been anchored for exactly `treeSize` events.
     * @param treeSize The requested tree size.
     */
    error AnchorRegistryUnknownTreeSize(uint64 treeSize);

    /// @notice No checkpoint has been anchored yet.
    error AnchorRegistryNoCheckpoints();

    /**
     * @notice Deploys the registry and grants {DEFAULT_ADMIN_ROLE} and {ANCHORER_ROLE} to
     * `initialAdmin`.
     * @param initialAdmin Account administering roles and allowed to anchor.
     *
     * @dev Reverts with {AnchorRegistryInvalidAdmin} if `initialAdmin` is the zero address.
     */
    constructor(address initialAdmin) {
        if (initialAdmin == address(0)) {
            revert AnchorRegistryInvalidAdmin(initialAdmin);
        }
        _grantRole(DEFAULT_ADMIN_ROLE, initialAdmin);
        _grantRole(ANCHORER_ROLE, initialAdmin);
    }

    /**
     * @notice Appends a checkpoint committing to the first `treeSize` events of the log.
     * @param treeSize Number of events committed to by `root`; must exceed the latest one.
     * @param root Merkle root of the first `treeSize` events; must be non-zero.
     * @return index Position of the new checkpoint.
     *
     * @dev Requirements:
     *
     * - the caller must have {ANCHORER_ROLE} ({IAccessControl-AccessControlUnauthorizedAccount});
     * - `root` must not be zero ({AnchorRegistryZeroRoot});
     * - `treeSize` must be strictly greater than the latest tree size, or than 0 for the first
     *   checkpoint ({AnchorRegistryTreeSizeNotIncreasing}).
     *
     * Emits a {CheckpointAnchored} event. Constant gas: one array push and one mapping write.
     */
    function anchor(
        uint64 treeSize,
        bytes32 root
    ) external onlyRole(ANCHORER_ROLE) returns (uint256 index) {
        if (root == bytes32(0)) {
            revert AnchorRegistryZeroRoot();
        }
        index = _checkpoints.length;
        uint64 latestTreeSize = index == 0 ? 0 : _checkpoints[index - 1].treeSize;
        if (treeSize <= latestTreeSize) {
            revert AnchorRegistryTreeSizeNotIncreasing(treeSize, latestTreeSize);
        }

        // Block timestamps and numbers fit in 64 bits for the foreseeable future.
        uint64 anchoredAt = uint64(block.timestamp);
        _checkpoints.push(
            Checkpoint({
                treeSize: treeSize,
                anchoredAt: anchoredAt,
                blockNumber: uint64(block.number),
                root: root
            })
        );
        _indexPlusOneByTreeSize[treeSize] = index + 1;

        emit CheckpointAnchored(index, treeSize, root, anchoredAt);
    }

    /**
     * @notice Returns the number of anchored checkpoints.
     * @return count The number of checkpoints.
     */
    function checkpointCount() external view returns (uint256 count) {
        return _checkpoints.length;
    }

    /**
     * @notice Returns the checkpoint at `index`.
     * @param index Position of the checkpoint (0-based).
     * @return checkpoint_ The checkpoint.
     *
     * @dev Reverts with {AnchorRegistryUnknownCheckpoint} if `index` is out of range.
     */
    function checkpoint(uint256 index) external view returns (Checkpoint memory checkpoint_) {
        if (index >= _checkpoints.length) {
            revert AnchorRegistryUnknownCheckpoint(index);
        }
        return _checkpoints[index];
    }

    /**
     * @notice Returns the most recently anchored checkpoint.
     * @return checkpoint_ The latest checkpoint.
     *
     * @dev Reverts with {AnchorRegistryNoCheckpoints} if nothing has been anchored yet.
     */
    function latestCheckpoint() external view returns (Checkpoint memory checkpoint_) {
        uint256 count = _checkpoints.length;
        if (count == 0) {
            revert AnchorRegistryNoCheckpoints();
        }
        return _checkpoints[count - 1];
    }

    /**
     * @notice Returns the root anchored for exactly `treeSize` events.
     * @param treeSize The tree size of the checkpoint.
     * @return root The anchored Merkle root.
     *
     * @dev Reverts with {AnchorRegistryUnknownTreeSize} if no checkpoint has this tree size.
     */
    function rootOf(uint64 treeSize) external view returns (bytes32 root) {
        uint256 indexPlusOne = _indexPlusOneByTreeSize[treeSize];
        if (indexPlusOne == 0) {
            revert AnchorRegistryUnknownTreeSize(treeSize);
        }
        return _checkpoints[indexPlusOne - 1].root;
    }
}
